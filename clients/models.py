"""Couples, their two partners, clinician notes and portal access links."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from practice.models import Practice


class CoupleStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class Couple(models.Model):
    """A case: two partners in therapy with the practice."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="couples")
    label = models.CharField(
        _("label"),
        max_length=120,
        help_text=_("How the couple appears on your caseload, e.g. “Rivera & Chen”."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CoupleStatus.choices, default=CoupleStatus.ACTIVE
    )
    start_date = models.DateField(_("start date"), default=timezone.localdate)
    clinicians = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="couples",
        verbose_name=_("clinicians"),
        blank=True,
    )
    monthly_report = models.BooleanField(
        _("monthly clinician report"),
        default=False,
        help_text=_("On the first of each month, a clinician report of the month before."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["label"]
        indexes = [models.Index(fields=["practice", "status"], name="couple_practice_status")]

    def __str__(self) -> str:
        return self.label

    @property
    def is_closed(self) -> bool:
        return self.status == CoupleStatus.CLOSED


class PortalState(models.TextChoices):
    NOT_INVITED = "not_invited", _("Not invited")
    INVITED = "invited", _("Invited")
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")


class Partner(models.Model):
    """One of the two people in a couple. Not a staff user; signs in to the portal by link."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="partners")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="partners")
    position = models.PositiveSmallIntegerField()  # 1 or 2: a stable order for columns and charts
    display_name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("email address"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    portal_state = models.CharField(
        _("portal access"),
        max_length=16,
        choices=PortalState.choices,
        default=PortalState.NOT_INVITED,
    )
    # Raised to end every portal session of this partner at once.
    session_epoch = models.PositiveIntegerField(default=0)
    # The sign-in link outbox: set when the partner asks for a link, cleared in the same
    # transaction that mails it. A link whose task the broker never got is still here,
    # and the sweeper sends it.
    sign_in_link_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["couple", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "email"], name="partner_email_unique_in_practice"
            ),
            models.UniqueConstraint(fields=["couple", "position"], name="two_partner_positions"),
            models.CheckConstraint(
                condition=Q(position__in=[1, 2]), name="partner_position_one_or_two"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @property
    def can_use_portal(self) -> bool:
        return self.portal_state in {PortalState.INVITED, PortalState.ACTIVE}


class Note(models.Model):
    """A private clinician note on a couple; never visible to assistants or clients."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("note"), max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"note {self.uuid}"


class AccessLinkPurpose(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    SIGN_IN = "sign_in", _("Sign-in link")
    REMINDER = "reminder", _("Reminder link")


def hash_token(token: str) -> str:
    """The stored form of a link token: its SHA-256. The token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessLink(models.Model):
    """A single-use portal link sent to a partner by email: an invitation or a sign-in link."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="access_links")
    purpose = models.CharField(max_length=16, choices=AccessLinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} {self.uuid}"

    def state(self, now: datetime | None = None) -> str:
        """One of usable, used, revoked, expired."""
        now = now or timezone.now()
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "usable"
