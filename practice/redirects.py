"""Where to send someone back to after a form posted from a page of this practice."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def back_to(request: HttpRequest, default: str) -> str:
    """The posted ``next`` when it is a path in this practice's pages, else ``default``.

    Only a relative path under ``/p/<this practice>/`` is followed: never another
    host, scheme or practice, so a crafted form cannot send anyone elsewhere.
    """
    candidate = request.POST.get("next", "")
    practice = getattr(request, "practice", None)
    if (
        practice is not None
        and candidate.startswith(f"/p/{practice.slug}/")
        and "\\" not in candidate
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts=None)
    ):
        return candidate
    return default
