"""Celery tasks of the client workspace and portal."""

from __future__ import annotations

from smtplib import SMTPException

from clients import services
from practice.celery import app


@app.task(autoretry_for=(SMTPException, OSError), retry_backoff=30, max_retries=4)
def send_sign_in_link(*, practice_id: int, partner_id: int) -> bool:
    """Make and email a portal sign-in link (runs in the practice's scope).

    A retry after a mail failure makes a new link; the unused one simply expires.
    """
    return services.send_sign_in_link_now(partner_id)
