"""Tenancy: practices, staff users, memberships and the audit trail."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # followed by six hex digits, e.g. #2f6f6a.")
)


def validate_timezone(value: str) -> None:
    """Accept only IANA time zone names the system knows."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Practice(models.Model):
    """A therapy practice: the tenant every client record belongs to."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("address name"), max_length=60, unique=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    display_name = models.CharField(
        _("display name"),
        max_length=200,
        blank=True,
        help_text=_("Shown to clients in the portal, emails and reports."),
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#2f6f6a", validators=[hex_colour]
    )
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    session_timeout_minutes = models.PositiveSmallIntegerField(
        _("sign out after idle minutes"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    contribute_to_norms = models.BooleanField(
        _("contribute to shared norms"),
        default=True,
        help_text=_(
            "Let anonymous aggregates (spread and reliability of first scores, never answers) "
            "from this practice improve the change statistics every practice sees."
        ),
    )
    couple_report_partner_totals = models.BooleanField(
        _("show each partner's totals in couple reports"),
        default=False,
        help_text=_("Off: the couple version shows couple-level results only."),
    )
    require_two_factor = models.BooleanField(
        _("require two-factor sign-in"),
        default=False,
        help_text=_(
            "Members must use an authenticator app to sign in to this practice; those "
            "without one set it up at their next visit."
        ),
    )
    is_demo = models.BooleanField(
        default=False,
        help_text="Demo data: kept out of the norms real practices share.",
    )
    support_resources = models.TextField(
        _("support resources"),
        blank=True,
        max_length=4000,
        help_text=_(
            "Shown privately to a partner after the safety check-in: helplines, crisis "
            "numbers, how to reach you. One resource per line."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the practice was erased: the row stays (its append-only audit trail points
    # at it) with its name and settings cleared, and nobody is a member any more.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("practice")
        verbose_name_plural = _("practices")

    def __str__(self) -> str:
        return self.name

    @property
    def public_name(self) -> str:
        """The name clients see."""
        return self.display_name or self.name


class UserManager(BaseUserManager["User"]):
    """Staff users sign in with their email address."""

    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=(username or "").strip())

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of staff: owner, clinician or assistant of one or more practices."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("admin site access"),
        default=False,
        help_text=_("Only superusers should have this; it opens the Django admin."),
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    CLINICIAN = "clinician", _("Clinician")
    ASSISTANT = "assistant", _("Assistant")


class Membership(models.Model):
    """A user's role in one practice."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="one_membership_per_practice")
        ]
        ordering = ["user__full_name"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_clinician(self) -> bool:
        return self.role == Role.CLINICIAN

    @property
    def is_assistant(self) -> bool:
        return self.role == Role.ASSISTANT


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """The audit trail is append-only: bulk updates and deletes are refused."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened: who did what to which record, from where, when.

    ``details`` holds ids, counts and field names, never client names or
    answers. Written only through ``practice.audit.record``.
    """

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="audit_events", null=True, blank=True
    )
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="audit_events", null=True, blank=True
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(
        practice="practice", _manager_class=models.Manager.from_queryset(AuditEventQuerySet)
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["practice", "-at"], name="audit_practice_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events cannot be deleted.")


class SignInFailure(models.Model):
    """A failed staff sign-in, kept for the lockout window."""

    email = models.CharField(max_length=254, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M}"


class Heartbeat(models.Model):
    """When a background component last proved it was alive (the worker, via beat)."""

    name = models.CharField(max_length=32, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"


class ApiToken(models.Model):
    """A personal API token of one staff member for one practice. Only its hash is stored."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)  # shown in lists to tell tokens apart
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class StaffInvitation(models.Model):
    """An owner's invitation to join a practice, accepted by the invited person while signed in.

    Only the hash of the link's secret is stored. ``full_name`` is what the owner
    typed: it prefills a new account and is never compared with an existing one.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="staff_invitations"
    )
    email = models.EmailField(_("email address"))
    full_name = models.CharField(_("full name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.role} invitation"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )
