"""Forms for staff sign-in and the practice back office."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from practice import audit, contrast, lockout
from practice.models import Practice, Role, User


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: each message on the field it names,
    or above the form when it names no field of this form (or none at all)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    for field, field_messages in errors.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def flash_form_errors(request: HttpRequest, form: forms.BaseForm) -> None:
    """Every error of a form with no page of its own to show on, as a message on the next."""
    for field_errors in form.errors.values():
        for error in field_errors:
            messages.error(request, str(error))


class SignInForm(AuthenticationForm):
    """Email and password, refused while the account or address is locked out."""

    username = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That email address and password do not match an account."),
        "locked": _(
            "Too many failed sign-in attempts. For your security, sign-in is paused "
            "for %(minutes)d minutes."
        ),
    }

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        password = self.cleaned_data.get("password")
        if not email or not password:
            return self.cleaned_data
        ip = audit.client_ip(self.request)
        remaining = lockout.locked_for(email, ip)
        if remaining is not None:
            audit.record("auth.sign_in_locked", request=self.request, actor_label=email)
            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": lockout.minutes(remaining)},
            )
        try:
            return super().clean()
        except forms.ValidationError:
            lockout.register_failure(email, ip)
            self._audit_failure(email)
            remaining = lockout.locked_for(email, ip)
            if remaining is not None:
                raise forms.ValidationError(
                    self.error_messages["locked"],
                    code="locked",
                    params={"minutes": lockout.minutes(remaining)},
                ) from None
            raise

    def _audit_failure(self, email: str) -> None:
        """One event per practice of the targeted account, so each owner sees it."""
        from practice.tenancy import memberships_of

        user = User.objects.filter(email=email).first()
        memberships = memberships_of(user) if user else []
        if not memberships:
            audit.record("auth.sign_in_failed", request=self.request, actor_label=email)
        for membership in memberships:
            audit.record(
                "auth.sign_in_failed",
                request=self.request,
                practice=membership.practice,
                target=user,
                actor_label=email,
            )


class _StoredLogo:
    """The current logo as the file widget shows it: named, linked to the members-only view."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    def __str__(self) -> str:
        return self.name


class LogoInput(forms.ClearableFileInput):
    """Links the current logo to the view that serves it (logos have no public URL)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_url = ""

    def format_value(self, value: Any) -> Any:
        if self.is_initial(value) and self.current_url:
            return _StoredLogo(value.name.rsplit("/", 1)[-1], self.current_url)
        return super().format_value(value)


def accent_problem(colour: str) -> str | None:
    """Why an #rrggbb accent colour cannot be used (too little contrast), or None.

    Anything not shaped #rrggbb is left to the model's own validator.
    """
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        return None
    lowest = contrast.lowest_ratio(colour)
    if lowest >= contrast.MINIMUM:
        return None
    return _(
        "This colour is too light to read: links and buttons in it have a contrast of "
        "%(ratio).1f:1 against the page, and at least 4.5:1 is needed. Choose a darker shade."
    ) % {"ratio": lowest}


class PracticeSettingsForm(forms.ModelForm):
    """What an owner can change about the practice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["logo"].widget.current_url = reverse(
                "practice_logo", args=[self.instance.slug]
            )

    def clean_accent_colour(self) -> str:
        colour = self.cleaned_data["accent_colour"].lower()
        problem = accent_problem(colour)
        if problem:
            raise forms.ValidationError(problem, code="contrast")
        return colour

    class Meta:
        model = Practice
        fields = [
            "display_name",
            "accent_colour",
            "logo",
            "timezone",
            "session_timeout_minutes",
            "support_resources",
            "couple_report_partner_totals",
            "contribute_to_norms",
            "require_two_factor",
        ]
        widgets = {
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
            "logo": LogoInput(attrs={"accept": "image/png,image/jpeg"}),
            "support_resources": forms.Textarea(attrs={"rows": 5}),
        }

    def clean_logo(self) -> object:
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size"):
            if logo.size > MAX_LOGO_BYTES:
                raise forms.ValidationError(_("The logo must be smaller than 512 KB."))
            if getattr(logo, "image", None) is not None and logo.image.format not in {
                "PNG",
                "JPEG",
            }:
                raise forms.ValidationError(_("Upload the logo as a PNG or JPEG image."))
        return logo


MAX_LOGO_BYTES = 512 * 1024


class MemberInviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.CLINICIAN)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
