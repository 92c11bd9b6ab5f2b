"""API throttles: per token (or signed-in user) and per client address.

Kept apart from the API base classes: DRF imports these while it is still
defining APIView.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework import throttling
from rest_framework.request import Request

from practice.audit import client_ip


class TokenThrottle(throttling.SimpleRateThrottle):
    """Per token (or per signed-in user for session calls)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = getattr(request, "api_token", None)
        if token is not None:
            ident = f"t{token.pk}"
        elif request.user and request.user.is_authenticated and getattr(request.user, "pk", None):
            ident = f"u{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IpThrottle(throttling.SimpleRateThrottle):
    """Per client address, whoever is calling."""

    scope = "ip"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


def _plain(throttle: throttling.BaseThrottle) -> bool:
    """A SimpleRateThrottle that decides the way SimpleRateThrottle does."""
    return isinstance(throttle, throttling.SimpleRateThrottle) and (
        type(throttle).allow_request is throttling.SimpleRateThrottle.allow_request
    )


def refusals(
    throttles: Sequence[throttling.BaseThrottle], request: Request, view: Any
) -> list[float | None]:
    """What DRF's ``check_throttles`` loop decides, with one cache read and one write in all.

    Each ``SimpleRateThrottle`` keeps its history in the cache; asked one by one they cost
    a read and a write each. Here the histories are read together (``get_many``) and the
    allowed ones written together (``set_many``, one per window length), by the rules of
    ``SimpleRateThrottle.allow_request``. Returns the wait of each refusal (none: all
    allowed). Any other kind of throttle is asked the way DRF asks it.
    """
    waits: list[float | None] = []
    keyed: list[tuple[throttling.SimpleRateThrottle, str]] = []
    for throttle in throttles:
        if not isinstance(throttle, throttling.SimpleRateThrottle) or not _plain(throttle):
            if not throttle.allow_request(request, view):
                waits.append(throttle.wait())
            continue
        if throttle.rate is None:
            continue
        key = throttle.get_cache_key(request, view)
        if key is not None:
            throttle.key = key
            keyed.append((throttle, key))
    if not keyed:
        return waits
    store = keyed[0][0].cache
    histories = store.get_many([key for _throttle, key in keyed])
    writes: dict[int, dict[str, list[float]]] = {}
    for throttle, key in keyed:
        duration: int = throttle.duration  # type: ignore[attr-defined]
        throttle.history = list(histories.get(key, []))
        throttle.now = throttle.timer()
        while throttle.history and throttle.history[-1] <= throttle.now - duration:
            throttle.history.pop()
        if len(throttle.history) >= throttle.num_requests:  # type: ignore[attr-defined]
            waits.append(throttle.wait())
            continue
        throttle.history.insert(0, throttle.now)
        writes.setdefault(duration, {})[key] = throttle.history
    for duration, values in writes.items():
        store.set_many(values, duration)
    return waits
