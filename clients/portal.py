"""The client portal's own identity: a session bound to one partner, and its middleware.

Partners are not staff users. A portal session holds only the partner's id
and the partner's session epoch; raising the epoch ("sign out everywhere",
revoking access) ends every session at once. The middleware opens the
practice scope for the partner's practice, so every query is cut to that
practice, and views cut further to the partner's own couple.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from typing import Any, Concatenate, cast

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from clients.models import Partner, PortalState
from practice.api_errors import api_error

SESSION_PARTNER = "portal_partner"
SESSION_EPOCH = "portal_epoch"
SESSION_SEEN = "portal_last_seen"
# A random value per portal session: the browser keeps unsent answers under it, so
# they belong to this sign-in only and never name the partner.
SESSION_DRAFTS = "portal_draft_scope"
PORTAL_IDLE_SECONDS = 30 * 60
SEEN_RESOLUTION_S = 15

# Portal pages anyone may open without a portal session.
PUBLIC_ROUTES = {
    "enter",
    "sign_in",
    "sign_in_sent",
    "exit",
    "signed_out",
    "js_catalog",
    "portal-session",
}


def sign_in(request: HttpRequest, partner: Partner) -> None:
    """Bind this browser session to the partner, dropping anything it held before."""
    request.session.flush()
    request.session[SESSION_PARTNER] = partner.pk
    request.session[SESSION_EPOCH] = partner.session_epoch
    request.session[SESSION_SEEN] = time.time()
    request.session[SESSION_DRAFTS] = secrets.token_urlsafe(12)


def sign_out(request: HttpRequest) -> None:
    """End this browser's portal session."""
    request.session.flush()


class PortalRequest(HttpRequest):
    """A signed-in partner's request in the portal (their practice's scope is open)."""

    partner: Partner


def portal_view[**P, R: HttpResponseBase](
    view: Callable[Concatenate[PortalRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """A portal view that receives a PortalRequest: 404 unless a partner is signed in."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
        if not isinstance(getattr(request, "partner", None), Partner):
            raise Http404
        return view(cast(PortalRequest, request), *args, **kwargs)

    return checked


def clear_portal_keys(request: HttpRequest) -> None:
    """Remove portal identity from a session (used when staff sign in on the same browser)."""
    for key in (SESSION_PARTNER, SESSION_EPOCH, SESSION_SEEN, SESSION_DRAFTS):
        request.session.pop(key, None)


def on_staff_sign_in(sender: type, request: HttpRequest, **kwargs: Any) -> None:
    """A staff sign-in on a browser that had a partner signed in ends the portal identity."""
    clear_portal_keys(request)


def _current_partner(request: HttpRequest) -> Partner | None:
    partner_pk = request.session.get(SESSION_PARTNER)
    if partner_pk is None:
        return None
    # The session names the partner; the partner's practice is the scope to open.
    with scopes_disabled():
        partner = Partner.objects.select_related("practice", "couple").filter(pk=partner_pk).first()
    if partner is None or partner.session_epoch != request.session.get(SESSION_EPOCH):
        return None
    if partner.portal_state not in {PortalState.INVITED, PortalState.ACTIVE}:
        return None
    return partner


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class PortalMiddleware:
    """Resolve the signed-in partner for portal routes and open their practice's scope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.partner = None  # type: ignore[attr-defined]
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not any(ns.startswith("portal") for ns in match.namespaces):
            return self.get_response(request)
        response = self._portal(request, match.url_name or "")
        # Nothing from the portal stays in a shared device's cache or back button.
        add_never_cache_headers(response)
        patch_cache_control(response, no_store=True, private=True)
        return response

    def _portal(self, request: HttpRequest, route: str) -> HttpResponse:
        if route in PUBLIC_ROUTES:
            return self.get_response(request)
        partner = _current_partner(request)
        now = time.time()
        if partner is not None:
            seen = request.session.get(SESSION_SEEN, 0)
            if now - seen > PORTAL_IDLE_SECONDS:
                sign_out(request)
                partner = None
                request.session["portal_notice"] = "idle"
            elif now - seen >= SEEN_RESOLUTION_S:
                request.session[SESSION_SEEN] = now
        if partner is None:
            if _is_api(request):
                return api_error(
                    401,
                    "not_authenticated",
                    _("Please sign in again."),
                    challenge='Session realm="portal"',
                )
            return HttpResponseRedirect(reverse("portal:sign_in"))
        request.partner = partner  # type: ignore[attr-defined]
        # Sessions from before drafts were kept in the browser get their scope now.
        request.draft_scope = request.session.setdefault(  # type: ignore[attr-defined]
            SESSION_DRAFTS, secrets.token_urlsafe(12)
        )
        translation.activate(partner.language)
        request.LANGUAGE_CODE = partner.language
        try:
            with scope(practice=partner.practice):
                response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", partner.language)
        return response
