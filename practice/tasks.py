"""Housekeeping tasks of the tenancy app."""

from __future__ import annotations

from practice import lockout, passwords
from practice.celery import app


@app.task
def purge_sign_in_failures() -> int:
    """Delete failed sign-ins that no longer count toward a lockout."""
    return lockout.purge_expired()


@app.task
def heartbeat() -> None:
    """Record that a worker is consuming the default queue (scheduled by beat)."""
    from django.utils import timezone

    from practice.models import Heartbeat

    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})


@app.task
def send_password_reset(email: str) -> None:
    """Look the address up and email a reset link, away from the request's timing."""
    passwords.send_reset(email)
