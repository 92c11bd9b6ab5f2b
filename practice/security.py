"""Security events: requests refused because they reached for another practice's or
another partner's data, recorded (at most once per window) where owners can see them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from practice import audit
from practice.models import Practice

REFUSED = "security.refused"


def _partner(request: HttpRequest) -> Any:
    """The portal partner behind the request (portal pages, or the portal API's principal)."""
    partner = getattr(request, "partner", None)
    if partner is None:
        partner = getattr(getattr(request, "user", None), "partner", None)
    return partner


def _who(request: HttpRequest) -> str:
    partner = _partner(request)
    if partner is not None:
        return f"partner:{partner.uuid}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.uuid}"
    return f"ip:{audit.client_ip(request)}"


def record_refusal(request: HttpRequest, *, practice: Practice, reason: str) -> bool:
    """Write one ``security.refused`` event unless this caller had one in the window.

    The cache key holds ids only; the window (``SECURITY_EVENT_WINDOW_SECONDS``)
    keeps a scan of thousands of ids to one line per caller, practice and reason.
    Returns whether an event was written.
    """
    key = (
        "security-refused:"
        + hashlib.sha256(f"{practice.pk}|{_who(request)}|{reason}".encode()).hexdigest()
    )
    if not cache.add(key, 1, timeout=settings.SECURITY_EVENT_WINDOW_SECONDS):
        return False
    match = getattr(request, "resolver_match", None)
    partner = _partner(request)
    details = {
        "reason": reason,
        "route": match.view_name if match else "",
        "method": request.method,
    }
    if partner is not None:
        audit.record_for_partner(REFUSED, partner, request=request, **details)  # type: ignore[arg-type]
    else:
        audit.record(REFUSED, request=request, practice=practice, **details)  # type: ignore[arg-type]
    return True


class RefusalAuditMiddleware:
    """A 404 for a route that names objects, inside a practice or a partner's portal, is
    a refused reach for data that is not the caller's (or a wrong id): record it.

    Sits inside the scope middlewares, so the event lands in the caller's practice.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404:
            return response
        match = getattr(request, "resolver_match", None)
        if match is None or not (set(match.kwargs) - {"practice_slug"}):
            return response
        partner = _partner(request)
        practice = partner.practice if partner is not None else getattr(request, "practice", None)
        if practice is not None:
            reason = "other_partner_or_unknown" if partner is not None else "not_yours_or_unknown"
            record_refusal(request, practice=practice, reason=reason)
        return response
