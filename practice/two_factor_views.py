"""Two-factor pages: the second sign-in step, enrolment with a QR code, recovery codes,
and confirming a recent second factor before sensitive changes (step-up)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from practice import audit, lockout, two_factor
from practice.models import User

NEW_CODES_KEY = "two_factor_new_codes"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        help_text=gettext_lazy(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


def _safe_next(request: HttpRequest, candidate: str, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@never_cache
@sensitive_post_parameters("code")
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in, or a step-up for a signed-in user."""
    pending, pending_next = two_factor.pending_user(request)
    user: User | None = pending
    if user is None and request.user.is_authenticated:
        user = request.user
    if user is None:
        return redirect("login")
    next_url = _safe_next(
        request, request.POST.get("next") or request.GET.get("next") or pending_next, "/"
    )
    if user.is_authenticated and pending is None and not two_factor.has_two_factor(user):
        return redirect(reverse("two_factor_setup") + "?next=" + next_url)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        ip = audit.client_ip(request)
        remaining = lockout.locked_for(user.email, ip)
        device = None
        if remaining is None:
            device = two_factor.check_code(request, user, form.cleaned_data["code"])
            remaining = None if device is not None else lockout.locked_for(user.email, ip)
        if device is not None:
            if pending is not None:
                request.session.pop(two_factor.PENDING_KEY, None)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            two_factor.mark_verified(request, device)
            return redirect(next_url)
        status = 400
        if remaining is not None:
            if pending is not None:
                request.session.pop(two_factor.PENDING_KEY, None)
            form.add_error(
                None,
                _(
                    "Too many failed sign-in attempts. For your security, sign-in is paused "
                    "for %(minutes)d minutes."
                )
                % {"minutes": lockout.minutes(remaining)},
            )
        else:
            form.add_error("code", _("That code is not right. Try the newest one."))
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": next_url, "step_up": pending is None},
        status=status,
    )


@never_cache
@login_required
@sensitive_post_parameters("code")
def setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code, confirm with its first code."""
    user: User = request.user  # type: ignore[assignment]
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""), "")
    if two_factor.has_two_factor(user) and not two_factor.verified_recently(request):
        # Replacing an authenticator needs the current one: a stolen session cannot.
        return redirect(reverse("two_factor_verify") + "?next=" + reverse("two_factor_setup"))
    device = two_factor.enrolment_device(user)
    form = CodeForm(request.POST or None)
    form.fields["code"].help_text = _("The 6-digit code your authenticator app shows now.")
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm_enrolment(request, user, form.cleaned_data["code"])
        if codes is not None:
            request.session[NEW_CODES_KEY] = codes
            return redirect(
                reverse("two_factor_recovery_codes") + ("?next=" + next_url if next_url else "")
            )
        form.add_error("code", _("That code is not right. Check the time on your phone."))
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "qr": two_factor.qr_data_url(device),
            "secret": two_factor.secret_base32(device),
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The new recovery codes, shown once; POST makes a new set (after a recent code)."""
    if request.method == "POST":
        if not two_factor.verified_recently(request):
            return redirect(
                reverse("two_factor_verify") + "?next=" + reverse("two_factor_recovery_codes")
            )
        request.session[NEW_CODES_KEY] = two_factor.new_recovery_codes(request.user)  # type: ignore[arg-type]
        messages.success(request, _("New recovery codes made. The old ones no longer work."))
        return redirect("two_factor_recovery_codes")
    codes = request.session.pop(NEW_CODES_KEY, None)
    return render(
        request,
        "registration/two_factor_codes.html",
        {
            "codes": codes,
            "enabled": two_factor.has_two_factor(request.user),  # type: ignore[arg-type]
            "next": _safe_next(request, request.GET.get("next", ""), reverse("home")),
        },
    )
