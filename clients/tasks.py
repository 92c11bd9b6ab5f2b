"""Celery tasks of the client workspace and portal."""

from __future__ import annotations

from smtplib import SMTPException

from django.core.cache import cache

from clients import services
from practice.celery import app

# A sign-in link is wanted now: the sweeper sends a lost one again after two minutes.
SIGN_IN_LINK_QUIET_SECONDS = 120


@app.task(autoretry_for=(SMTPException, OSError), retry_backoff=30, max_retries=4)
def send_sign_in_link(*, practice_id: int, partner_id: int) -> bool:
    """Make and email a portal sign-in link (runs in the practice's scope).

    A mail failure rolls the new link back and leaves the request pending for the retry.
    """
    return services.send_sign_in_link_now(partner_id)


@app.task
def sweep_sign_in_links() -> int:
    """Queue the sign-in links asked for while the broker was down (beat, every minute)."""
    queued = 0
    for practice_id, partner_id in services.unsent_sign_in_links():
        if not cache.add(f"requeued:sign-in:{partner_id}", 1, SIGN_IN_LINK_QUIET_SECONDS):
            continue
        send_sign_in_link.delay(practice_id=practice_id, partner_id=partner_id)
        queued += 1
    return queued
