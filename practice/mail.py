"""Sending email in the recipient's language, from the practice's name."""

from __future__ import annotations

from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from practice.models import Practice


def sender(practice: Practice | None) -> str:
    """The From header: the practice's public name with the configured address."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if practice is not None:
        name = practice.public_name
    return formataddr((name, address))


def send(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str = "en",
    practice: Practice | None = None,
) -> None:
    """Render ``<template>_subject.txt`` and ``<template>.txt`` in a language and send them.

    Raises whatever the mail backend raises; callers decide what a failure means.
    """
    with translation.override(language):
        context = {"practice": practice, "site_url": settings.SITE_URL, **context}
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}.txt", context)
    EmailMessage(subject=subject, body=body, from_email=sender(practice), to=[to]).send()
