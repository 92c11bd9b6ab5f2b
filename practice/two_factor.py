"""Staff two-factor sign-in with django-otp: TOTP apps, single-use recovery codes, step-up.

A user with a confirmed device is not signed in by the password alone: the
password step leaves a short-lived pending sign-in in the session, and only a
valid code completes it (``django.contrib.auth.login`` then ``django_otp.login``).
Failed codes count toward the same per-account and per-address lockout as
failed passwords, and every step is audited.

"Recent" second factor: the moment of the last verified code is kept in the
session; creating an API token and changing roles or practice settings need
one within ``SECOND_FACTOR_RECENT_MINUTES``.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from practice import audit, lockout
from practice.models import User
from practice.tenancy import memberships_of

PENDING_KEY = "two_factor_pending"
VERIFIED_AT_KEY = "two_factor_verified_at"
RECOVERY_DEVICE_NAME = "recovery codes"
RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator app"


def has_two_factor(user: User) -> bool:
    """Whether the user has a confirmed authenticator (recovery codes alone do not count)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# --- the second step of signing in --------------------------------------------------------


def start_pending(request: HttpRequest, user: User, next_url: str) -> None:
    """Remember a password-verified user who still owes a code (a few minutes at most)."""
    request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}


def pending_user(request: HttpRequest) -> tuple[User | None, str]:
    """The user waiting for their second step, and where they were going."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, ""
    if time.time() - pending.get("at", 0) > settings.SECOND_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, ""
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()  # type: ignore[misc]
    return user, str(pending.get("next") or "")


def _kind(device: Any) -> str:
    return "recovery_code" if isinstance(device, StaticDevice) else "totp"


def check_code(request: HttpRequest, user: User, code: str) -> Any:
    """Verify a code from the user's app or a recovery code; None when it is wrong.

    A wrong code is a sign-in failure for the lockout; a recovery code works once.
    """
    code = "".join(code.split()).lower()
    device = match_token(user, code) if 0 < len(code) <= 16 else None
    ip = audit.client_ip(request)
    if device is None:
        lockout.register_failure(user.email, ip)
        audit_each_practice("auth.second_factor_failed", request, user)
        return None
    if isinstance(device, StaticDevice):
        left = StaticToken.objects.filter(device=device).count()
        audit_each_practice("auth.recovery_code_used", request, user, left=left)
    return device


def audit_each_practice(action: str, request: HttpRequest, user: User, **details: Any) -> None:
    """One event in each of the user's practices, where their owners can see it."""
    memberships = memberships_of(user)
    if not memberships:
        audit.record(action, request=request, actor=user, **details)
    for membership in memberships:
        audit.record(action, request=request, actor=user, practice=membership.practice, **details)


def mark_verified(request: HttpRequest, device: Any) -> None:
    """The signed-in user just proved the second factor (sign-in, enrolment or step-up)."""
    otp_login(request, device)
    request.session[VERIFIED_AT_KEY] = time.time()
    audit_each_practice(
        "auth.second_factor",
        request,
        request.user,  # type: ignore[arg-type]
        method=_kind(device),
    )


def is_verified(request: HttpRequest) -> bool:
    """Whether this session proved a second factor since signing in."""
    return bool(request.session.get(DEVICE_ID_SESSION_KEY))


def verified_recently(request: HttpRequest) -> bool:
    """Whether the second factor was proved within ``SECOND_FACTOR_RECENT_MINUTES``."""
    at = request.session.get(VERIFIED_AT_KEY)
    window = settings.SECOND_FACTOR_RECENT_MINUTES * 60
    return is_verified(request) and at is not None and time.time() - at <= window


def step_up_url(request: HttpRequest) -> str:
    """Where to prove a second factor (or set one up) and come back to this page."""
    user: User = request.user  # type: ignore[assignment]
    target = reverse("two_factor_verify") if has_two_factor(user) else reverse("two_factor_setup")
    return f"{target}?next={quote(request.get_full_path())}"


def needs_step_up(request: HttpRequest) -> bool:
    """Whether a sensitive change must wait for a fresh code.

    Token requests never do: creating the token needed one, and the token is
    the credential (docs/security.md).
    """
    if getattr(request, "api_token", None) is not None:
        return False
    return not verified_recently(request)


STEP_UP_FIELD = "step_up_code"


@dataclass(frozen=True)
class StepUp:
    """What a page with a sensitive form needs to say about the second factor."""

    needed: bool  # saving needs a code typed into the form
    setup_url: str = ""  # the user has no authenticator yet: set one up first
    error: str = ""  # why the last POST was not saved

    @property
    def minutes(self) -> int:
        """How long a code counts as recent."""
        return int(settings.SECOND_FACTOR_RECENT_MINUTES)


def step_up(request: HttpRequest) -> StepUp:
    """For a page whose form makes a sensitive change: may a POST go ahead?

    With no recent code the form carries a code field, so the change and the
    code go together and nothing typed is lost. A POST is checked here: a right
    code counts as a fresh second factor; a wrong one counts for the lockout,
    like any code. Without an authenticator the user is sent to set one up.
    """
    if not needs_step_up(request):
        return StepUp(needed=False)
    user: User = request.user  # type: ignore[assignment]
    if not has_two_factor(user):
        target = reverse("two_factor_setup") + f"?next={quote(request.get_full_path())}"
        error = _("Set up two-factor sign-in first, then save this change.")
        return StepUp(True, target, error if request.method == "POST" else "")
    if request.method != "POST":
        return StepUp(needed=True)
    code = request.POST.get(STEP_UP_FIELD, "")
    if not code.strip():
        return StepUp(True, error=_("Enter a code from your authenticator app to save this."))
    if lockout.locked_for(user.email, audit.client_ip(request)) is not None:
        return StepUp(True, error=_("Too many failed attempts. Try again later."))
    device = check_code(request, user, code)
    if device is None:
        return StepUp(True, error=_("That code is not right. Check the time on your phone."))
    mark_verified(request, device)
    return StepUp(needed=False)


# --- enrolment ------------------------------------------------------------------------------


def enrolment_device(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator being set up (made on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    """The device key as authenticator apps take it by hand (base32, no padding)."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_data_url(device: TOTPDevice) -> str:
    """The enrolment QR code as an SVG data: URL, drawn here (nothing is fetched)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


@transaction.atomic
def confirm_enrolment(request: HttpRequest, user: User, code: str) -> list[str] | None:
    """Confirm the new authenticator with its first code; returns fresh recovery codes.

    Any older authenticators and recovery codes of the user are replaced.
    """
    device = enrolment_device(user)
    if not device.verify_token("".join(code.split())):
        audit_each_practice("auth.second_factor_failed", request, user, step="enrol")
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = new_recovery_codes(user)
    audit_each_practice("auth.two_factor_enrolled", request, user)
    mark_verified(request, device)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with a fresh set; returns them (shown once)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes
