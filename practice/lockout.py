"""Sign-in lockout after repeated failures, per account and per address."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from practice.models import SignInFailure


def _locked_until(failures: QuerySet[SignInFailure], limit: int, now: datetime) -> datetime | None:
    stats = failures.filter(at__gte=now - settings.LOCKOUT_WINDOW).aggregate(
        n=Count("id"), last=Max("at")
    )
    if stats["n"] >= limit and stats["last"] is not None:
        return stats["last"] + settings.LOCKOUT_WINDOW
    return None


def locked_for(email: str, ip: str | None) -> timedelta | None:
    """How long sign-in stays refused for this account or address, or None."""
    now = timezone.now()
    candidates = [
        _locked_until(
            SignInFailure.objects.filter(email=email.strip().lower()),
            settings.LOCKOUT_FAILURES_PER_ACCOUNT,
            now,
        )
    ]
    if ip:
        candidates.append(
            _locked_until(
                SignInFailure.objects.filter(ip=ip), settings.LOCKOUT_FAILURES_PER_IP, now
            )
        )
    until = max((c for c in candidates if c is not None), default=None)
    return until - now if until is not None and until > now else None


def minutes(remaining: timedelta) -> int:
    """Whole minutes, rounded up, for messages."""
    return max(1, math.ceil(remaining.total_seconds() / 60))


def register_failure(email: str, ip: str | None) -> None:
    """Remember one failed sign-in."""
    SignInFailure.objects.create(email=email.strip().lower()[:254], ip=ip)


def clear_account(email: str) -> None:
    """Forget an account's failures after it signs in successfully."""
    SignInFailure.objects.filter(email=email.strip().lower()).delete()


def purge_expired() -> int:
    """Delete failures older than the window; returns how many went."""
    cutoff = timezone.now() - settings.LOCKOUT_WINDOW
    deleted, _ = SignInFailure.objects.filter(at__lt=cutoff).delete()
    return deleted
