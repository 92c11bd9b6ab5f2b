"""Staff password reset: rate limits in the request, the lookup and the email in the worker."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache


class TooManyResetRequests(Exception):
    """This address (IP) asked for too many password resets."""


def _bump(key: str) -> int:
    window = settings.PASSWORD_RESET_REQUEST_WINDOW_SECONDS
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def allow_reset(email: str, ip: str | None) -> bool:
    """Count one request; whether an email may go to this address.

    Raises ``TooManyResetRequests`` when the IP has asked too often (the caller
    says so: that reveals nothing about any account). Past the per-address
    limit it quietly answers False, so a mailbox cannot be flooded and the
    answer still looks the same as for any other address.
    """
    if _bump(f"password-reset:ip:{ip or 'unknown'}") > settings.PASSWORD_RESET_REQUESTS_PER_IP:
        raise TooManyResetRequests
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return _bump(f"password-reset:email:{digest}") <= settings.PASSWORD_RESET_REQUESTS_PER_ADDRESS


def send_reset(email: str) -> None:
    """Email a reset link if an active account has this address (runs in the worker)."""
    site = urlsplit(settings.SITE_URL)
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="registration/password_reset_subject.txt",
            email_template_name="registration/password_reset_email.txt",
        )
