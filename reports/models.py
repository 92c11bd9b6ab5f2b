"""PDF progress reports: one row per report, with a status machine, and batches of them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from clients.models import Couple
from practice.models import Practice


class ReportKind(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician report")
    COUPLE = "couple", _("Couple report")


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RENDERING = "rendering", _("Rendering")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ReportError(models.TextChoices):
    """Why a report failed; its message is chosen when shown, in the reader's language."""

    RENDER = "render", _("drawing failed")
    STORAGE = "storage", _("saving failed")
    STOPPED = "stopped", _("rendering kept stopping")


class ReportBatch(models.Model):
    """Reports asked for together ("all my active couples"); progress is counted from them."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"batch {self.uuid}"


class Report(models.Model):
    """One PDF for one couple and period. The file lives in private storage only."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(_("kind"), max_length=16, choices=ReportKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    status = models.CharField(
        max_length=16, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    error = models.TextField(blank=True)  # a detail safe to show: an error class or errno name
    error_code = models.CharField(max_length=16, choices=ReportError.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The renderer holding the report renews this while it works. A renderer that died
    # stops renewing, and once it has passed another delivery of the task may claim it.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    batch = models.ForeignKey(
        ReportBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    automatic = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The data the PDF was drawn from, frozen when rendering started.
    snapshot = models.JSONField(null=True, blank=True)
    file = models.FileField(upload_to="reports/", blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # The release email's outbox: set once the partners were emailed, so a release made
    # while the broker was down is still announced (by the sweeper).
    release_notified_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A couple report is drawn once in each language its partners read: the one asked
    # for is the report staff see and release; each other language is a row of its own
    # (own status, lease and file) pointing here. Released and withdrawn together.
    translation_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="translations"
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "started_at"], name="report_status_started")]
        constraints = [
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(kind=ReportKind.COUPLE, status="ready"),
                name="only_ready_couple_reports_are_released",
            ),
            models.UniqueConstraint(
                fields=["translation_of", "language"],
                condition=Q(translation_of__isnull=False),
                name="one_translation_per_language",
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.uuid}"

    @property
    def is_ready(self) -> bool:
        return self.status == ReportStatus.READY

    @property
    def is_released(self) -> bool:
        return self.released_at is not None

    @property
    def in_progress(self) -> bool:
        return self.status in {ReportStatus.QUEUED, ReportStatus.RENDERING}

    @property
    def lease_expired(self) -> bool:
        """Marked rendering, but whoever was rendering it stopped renewing its lease."""
        return (
            self.status == ReportStatus.RENDERING
            and self.lease_expires_at is not None
            and self.lease_expires_at < timezone.now()
        )

    @property
    def can_retry(self) -> bool:
        """A person may ask for it again: it failed, or its renderer has gone quiet."""
        return self.status == ReportStatus.FAILED or self.lease_expired

    @property
    def error_message(self) -> str:
        """What went wrong, for the clinician, in the active language."""
        if self.error_code == ReportError.STORAGE:
            return _(
                "The report was drawn but could not be saved: the server's report storage is "
                "full or cannot be written to (%(detail)s). Nothing was half-saved. Ask your "
                "administrator to free space, then press Try again."
            ) % {"detail": self.error or "?"}
        if self.error_code == ReportError.STOPPED:
            return _(
                "Rendering stopped %(n)s times before finishing. Press Try again; if it stops "
                "again, contact support with the report id."
            ) % {"n": self.error or self.attempts}
        if self.error_code == ReportError.RENDER:
            return _(
                "The report could not be drawn (%(detail)s). Try again; if it fails again, "
                "contact support with the report id."
            ) % {"detail": self.error or "?"}
        return self.error


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready to download")
    FAILED = "failed", _("Failed")


class PracticeExport(models.Model):
    """A zip of everything a practice holds, made by a worker and downloaded once.

    queued -> running -> done | failed; the worker claims the row by a conditional
    update, so a duplicate delivery does nothing.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=32, blank=True)  # what the worker is writing now
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to="exports/", blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the file is gone: downloaded, or kept unclaimed past the keeping time.
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "started_at"], name="export_status_started")]

    def __str__(self) -> str:
        return f"export {self.uuid}"

    @property
    def in_progress(self) -> bool:
        return self.status in {ExportStatus.QUEUED, ExportStatus.RUNNING}

    @property
    def downloadable(self) -> bool:
        return self.status == ExportStatus.DONE and self.removed_at is None and bool(self.file)
