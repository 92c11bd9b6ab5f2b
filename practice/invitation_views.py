"""A colleague's side of a practice invitation: open the link, sign in or sign up, accept."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import login, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from practice import members
from practice.models import StaffInvitation, User

SESSION_KEY = "staff_invitation"


class NewAccountForm(forms.Form):
    """A password (and name) for an invited person without an account."""

    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            candidate = User(email=self.email, full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(first, candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


@never_cache
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: remember the invitation in the session and drop the secret from the URL."""
    invitation = members.open_invitation(token)
    if invitation is None:
        return render(request, "practice/invitation_invalid.html", status=404)
    request.session[SESSION_KEY] = invitation.pk
    return redirect("staff_invitation_accept")


@never_cache
def invitation_accept(request: HttpRequest) -> HttpResponse:
    """Show the invitation; accept it signed in, or create the account it was sent to."""
    invitation_id = request.session.get(SESSION_KEY)
    invitation = members.invitation_by_id(invitation_id) if invitation_id else None
    if invitation is None:
        return render(request, "practice/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        return _signed_in(request, invitation, request.user)
    # Only the holder of the emailed link gets here, so telling them whether their
    # own address has an account (sign in, or create one) reveals nothing new.
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    form = None
    if not has_account:
        form = NewAccountForm(
            request.POST or None,
            email=invitation.email,
            initial={"full_name": invitation.full_name},
        )
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                user = User.objects.create_user(
                    invitation.email,
                    form.cleaned_data["password1"],
                    full_name=form.cleaned_data["full_name"].strip(),
                )
                members.accept_invitation(invitation, user=user, request=request)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(SESSION_KEY, None)
            return redirect("caseload", practice_slug=invitation.practice.slug)
    return render(
        request,
        "practice/invitation.html",
        {"invitation": invitation, "has_account": has_account, "form": form},
        status=400 if form is not None and form.errors else 200,
    )


def _signed_in(request: HttpRequest, invitation: StaffInvitation, user: User) -> HttpResponse:
    mismatch = user.email.lower() != invitation.email.lower()
    if request.method == "POST" and not mismatch:
        try:
            members.accept_invitation(invitation, user=user, request=request)
        except ValidationError as exc:
            return render(
                request,
                "practice/invitation_invalid.html",
                {"reason": exc.messages[0]},
                status=404,
            )
        request.session.pop(SESSION_KEY, None)
        return redirect("caseload", practice_slug=invitation.practice.slug)
    return render(
        request,
        "practice/invitation.html",
        {"invitation": invitation, "mismatch": mismatch},
        status=403 if mismatch and request.method == "POST" else 200,
    )
