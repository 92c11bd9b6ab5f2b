"""How hard the hypothesis properties try; no Django here, so pure-logic tests can use it."""

from __future__ import annotations

import os

# `make test-fast` sets ATTUNE_TEST_QUICK=1: each property tries a fifth of its examples
# there. `make test` (and a plain pytest) tries every one.
QUICK = os.environ.get("ATTUNE_TEST_QUICK") == "1"


def examples(full: int) -> int:
    """The examples a property tries in this run: ``full`` except in `make test-fast`."""
    return max(10, full // 5) if QUICK else full
