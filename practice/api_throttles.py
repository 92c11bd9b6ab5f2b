"""API throttles: per token (or signed-in user) and per client address.

Kept apart from the API base classes: DRF imports these while it is still
defining APIView.
"""

from __future__ import annotations

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
