"""Fixtures of the fault suite (see harness.py)."""

from tests.faults.harness import broker, stack  # noqa: F401
