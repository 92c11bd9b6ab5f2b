"""Request plumbing for staff pages: the practice scope and idle sign-out."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
)
from django.middleware.common import CommonMiddleware
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import escape_leading_slashes
from django.utils.translation import gettext as _
from django_scopes import scope

from practice import audit, tokens, two_factor
from practice.api_errors import api_error
from practice.models import Practice
from practice.security import record_refusal
from practice.tenancy import membership_in, most_lenient_idle_timeout

# Last activity per practice id, and ANYWHERE for any page at all.
LAST_SEEN_KEY = "staff_last_seen"
ANYWHERE = "*"
IDLE_LIMIT_KEY = "staff_idle_limit"
# Writing the session on every request is wasteful; a few seconds of slack is not.
LAST_SEEN_RESOLUTION_S = 15
IDLE_LIMIT_REFRESH_S = 60


def is_api_request(request: HttpRequest) -> bool:
    """Whether the path belongs to the JSON API."""
    return request.path_info.startswith("/api/")


class CompressTextMiddleware(GZipMiddleware):
    """Gzip pages and JSON for clients that accept it; files that are already packed
    (PDF, zip, images) go out as they are.

    Django's gzip adds random padding to every compressed response, its mitigation
    for BREACH-style length attacks, and CSRF tokens are masked per response.
    """

    TEXT_TYPES = ("text/", "application/json", "application/javascript", "image/svg+xml")

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponseBase:  # type: ignore[override]
        if not response.get("Content-Type", "").startswith(self.TEXT_TYPES):
            return response
        return super().process_response(request, response)


class ApiCommonMiddleware(CommonMiddleware):
    """Django's CommonMiddleware, but an API path missing its trailing slash is answered
    in JSON: a 308 to the slashed path (which keeps the method and body), never the
    301 HTML redirect that turns a POST into a GET and drops its body."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            is_api_request(request)
            and response.status_code == 404
            and self.should_redirect_with_slash(request)
        ):
            target = escape_leading_slashes(request.get_full_path(force_append_slash=True))
            moved = JsonResponse(
                {
                    "error": {
                        "code": "moved",
                        "message": _("API paths end with a slash: %(path)s")
                        % {"path": request.path + "/"},
                        "fields": {},
                    }
                },
                status=308,
            )
            moved["Location"] = target
            return moved
        return super().process_response(request, response)


class RejectNulMiddleware:
    """A NUL character in the query string or a submitted form is a clear 400.

    No text column stores one (PostgreSQL refuses it), so letting it through would
    turn a search box or a filter into a server error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            message = _("The request contains a NUL character, which is not allowed.")
            if is_api_request(request):
                return api_error(400, "parse_error", message)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        sources = [request.GET]
        if request.method == "POST" and request.content_type in {
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        }:
            sources.append(request.POST)
        return any(
            "\x00" in key or any("\x00" in value for value in values)
            for source in sources
            for key, values in source.lists()
        )


class ApiTokenMiddleware:
    """Sign API calls in by personal token (``Authorization: Token att_…``).

    A request that presents a token is authenticated by it alone; a bad,
    revoked or foreign-practice token is answered 401 here, before any view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.api_token = None  # type: ignore[attr-defined]
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header or not is_api_request(request):
            return self.get_response(request)
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() not in {"token", "bearer"} or not secret.strip():
            return api_error(401, "not_authenticated", _("Use the header: Authorization: Token …"))
        token = tokens.authenticate(secret.strip())
        if token is None:
            return api_error(401, "authentication_failed", _("Invalid or revoked token."))
        request.user = token.user
        request.api_token = token  # type: ignore[attr-defined]
        # No cookies are involved in a token request, so no CSRF check either.
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages and API answers carry client or practice data: no browser or proxy keeps them.

    Every dynamic response without its own Cache-Control (404s included) gets
    ``no-store``; static files are answered by WhiteNoise before this runs, and
    the few views that may be cached (logos) say so themselves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            patch_cache_control(response, no_store=True, private=True)
        return response


class PermissionsPolicyMiddleware:
    """Switch off browser features no page uses (``PERMISSIONS_POLICY``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class IdleTimeoutMiddleware:
    """Sign staff out after the idle timeout of the practice they are working in.

    Runs inside the practice scope. Each practice's timeout is measured from the
    user's last activity in that practice (or anywhere, before their first visit
    to it this session), and the sign-out is recorded in that practice alone, so
    one practice's setting never ends or logs work in another. Pages outside any
    practice use the most lenient timeout among the user's practices: each
    practice still applies its own at its door.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not getattr(request, "api_token", None):
            now = time.time()
            session = request.session
            seen = session.get(LAST_SEEN_KEY)
            if not isinstance(seen, dict):
                seen = {}
            practice = getattr(request, "practice", None)
            key = str(practice.pk) if practice is not None else ANYWHERE
            if practice is not None:
                limit = int(practice.session_timeout_minutes) * 60
            else:
                limit = self._outside_limit(request, now)
            last_seen = seen.get(key, seen.get(ANYWHERE))
            if last_seen is not None and now - last_seen > limit:
                audit.record(
                    "auth.idle_sign_out",
                    request=request,
                    practice=practice,
                    idle_minutes=limit // 60,
                )
                logout(request)
                if is_api_request(request):
                    return api_error(401, "not_authenticated", _("Your session has ended."))
                messages.info(
                    request,
                    _("You were signed out after %(minutes)d minutes without activity.")
                    % {"minutes": limit // 60},
                )
                return redirect_to_login(request.get_full_path())
            stale = [k for k in (key, ANYWHERE) if now - seen.get(k, 0) >= LAST_SEEN_RESOLUTION_S]
            if stale:
                session[LAST_SEEN_KEY] = {**seen, **dict.fromkeys(stale, now)}
        return self.get_response(request)

    def _outside_limit(self, request: HttpRequest, now: float) -> int:
        cached = request.session.get(IDLE_LIMIT_KEY)
        if cached is None or now - cached[1] > IDLE_LIMIT_REFRESH_S:
            minutes = most_lenient_idle_timeout(
                request.user,  # type: ignore[arg-type]
                settings.DEFAULT_IDLE_TIMEOUT_MINUTES,
            )
            cached = (minutes * 60, now)
            request.session[IDLE_LIMIT_KEY] = cached
        return int(cached[0])


class PracticeScopeMiddleware:
    """Resolve the practice in a dashboard URL and open its scope.

    A URL with a ``practice_slug`` argument is served only to a member of
    that practice; to anyone else it does not exist (404). Inside, every
    query on a scoped model is limited to the practice.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.practice = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("practice_slug")
        if slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            if is_api_request(request):
                return api_error(
                    401, "not_authenticated", _("Authentication credentials were not provided.")
                )
            return redirect_to_login(request.get_full_path())
        token = getattr(request, "api_token", None)
        if token is not None:
            # A token is good in its own practice only; its membership came with it.
            membership = tokens.membership(token, slug)
        else:
            membership = membership_in(request.user, slug)
        if membership is None:
            self._record_foreign(request, slug)
            if is_api_request(request):
                return api_error(404, "not_found", _("Not found."))
            raise Http404
        request.practice = membership.practice  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        timezone.activate(zoneinfo.ZoneInfo(membership.practice.timezone))
        try:
            with scope(practice=membership.practice):
                return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _record_foreign(request: HttpRequest, slug: str) -> None:
        """A signed-in outsider reached for a practice's address: tell that practice's owners."""
        target = Practice.objects.filter(slug=slug).first()
        if target is not None:
            record_refusal(request, practice=target, reason="other_practice")


class TwoFactorRequiredMiddleware:
    """In a practice that requires two-factor sign-in, a session without a proved second
    factor is sent to set one up (or to enter a code) before any page of that practice.

    Other practices of the same person are not affected. API token requests pass:
    tokens are created only after a recent second factor.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        practice = getattr(request, "practice", None)
        if (
            practice is not None
            and practice.require_two_factor
            and getattr(request, "api_token", None) is None
            and not two_factor.is_verified(request)
        ):
            if is_api_request(request):
                return api_error(
                    403,
                    "two_factor_required",
                    _("This practice requires two-factor sign-in. Set it up in the browser."),
                )
            messages.info(
                request, _("%(practice)s requires two-factor sign-in.") % {"practice": practice}
            )
            return redirect(two_factor.step_up_url(request))
        return self.get_response(request)
