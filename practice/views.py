"""Staff entry points: sign-in, practice choice, the audit log, health."""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from practice import audit, health, passwords, tasks, two_factor
from practice.api_errors import api_error
from practice.forms import SignInForm
from practice.middleware import is_api_request
from practice.tenancy import memberships_of


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        """With two-factor set up, the password only opens the second step."""
        user = form.get_user()
        if two_factor.has_two_factor(user):
            two_factor.start_pending(self.request, user, self.get_success_url())
            return redirect("two_factor_verify")
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: auth_views.PasswordResetForm) -> HttpResponse:  # type: ignore[name-defined]
        """Queue the email; the same answer, after the same work, for any address.

        The request never looks the address up: the worker does, and sends.
        """
        email = form.cleaned_data["email"]
        try:
            allowed = passwords.allow_reset(email, audit.client_ip(self.request))
        except passwords.TooManyResetRequests:
            form.add_error(
                None,
                _("Too many reset requests from your network. Try again in %(minutes)d minutes.")
                % {"minutes": settings.PASSWORD_RESET_REQUEST_WINDOW_SECONDS // 60},
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        audit.record("auth.password_reset_requested", request=self.request)
        if allowed:
            tasks.send_password_reset.delay_on_commit(email)  # type: ignore[attr-defined]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: auth_views.SetPasswordForm) -> HttpResponse:  # type: ignore[name-defined]
        response = super().form_valid(form)
        audit.record("auth.password_reset_done", request=self.request, actor=form.user)
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send staff to their practice, or let them pick when they have several."""
    memberships = memberships_of(request.user)  # type: ignore[arg-type]
    if len(memberships) == 1:
        return redirect("caseload", practice_slug=memberships[0].practice.slug)
    return redirect("practice_list")


@login_required
def practice_list(request: HttpRequest) -> HttpResponse:
    """The practices this user belongs to."""
    memberships = memberships_of(request.user)  # type: ignore[arg-type]
    return render(request, "practice/practice_list.html", {"memberships": memberships})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Each dependency's state; 503 only when the database is down (the web tier needs it)."""
    checks = health.report()
    ok = checks["database"] == "ok"
    degraded = any(state in {"down", "stale", "missing"} for state in checks.values())
    status = "ok" if not degraded else ("degraded" if ok else "down")
    return JsonResponse({"status": status, "checks": checks}, status=200 if ok else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 page: the API's error format under /api/, the portal's own page (with its
    quick exit) under /portal/, else the staff page."""
    if is_api_request(request):
        return api_error(404, "not_found", _("Not found."))
    template = (
        "clients/portal/not_found.html" if request.path_info.startswith("/portal/") else "404.html"
    )
    return render(request, template, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500, or a 503 when the database is unreachable: JSON under /api/, the portal's own
    page (with its quick exit) under /portal/, else the staff page.

    Rendered without the request, so no context processor touches what just failed.
    """
    unavailable = isinstance(sys.exc_info()[1], DatabaseOperationalError | InterfaceError)
    status = 503 if unavailable else 500
    if is_api_request(request):
        response: HttpResponse = (
            api_error(503, "unavailable", _("The service is briefly unavailable; try again."))
            if unavailable
            else api_error(500, "server_error", _("Something went wrong on our side."))
        )
    else:
        if request.path_info.startswith("/portal/"):
            template = "clients/portal/error.html"
        else:
            template = "503.html" if unavailable else "500.html"
        response = HttpResponse(
            loader.render_to_string(template, {"status": status}), status=status
        )
    if unavailable:
        response["Retry-After"] = "30"
    return response
