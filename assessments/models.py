"""Instruments, assignments and their occurrences, responses, scores, alerts and norms."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_scopes import ScopedManager, get_scope

from assessments import definition as defn
from assessments.scoring_rules import Plan
from clients.models import Couple, Partner
from practice.models import Practice

# Compiled plans by (instrument id, digest): definitions are immutable once answered.
_PLANS: dict[tuple[int | None, str], Plan] = {}


class InstrumentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class InstrumentQuerySet(models.QuerySet["Instrument"]):
    def published(self) -> InstrumentQuerySet:
        return self.filter(status=InstrumentStatus.PUBLISHED)


class InstrumentManager(models.Manager["Instrument"]):
    """Built-in instruments are shared; practice instruments only inside their practice.

    Like django-scopes' managers, this refuses to list anything outside a
    practice scope (unless scopes are disabled), because the practice's own
    instruments must never show up in another practice.
    """

    def get_queryset(self) -> InstrumentQuerySet:
        qs = InstrumentQuerySet(self.model, using=self._db)
        current = get_scope()
        if not current.get("_enabled", True):
            return qs
        practice = current.get("practice")
        if practice is None:
            return qs.filter(practice__isnull=True)
        return qs.filter(Q(practice__isnull=True) | Q(practice=practice))

    def published(self) -> InstrumentQuerySet:
        return self.get_queryset().published()


class Instrument(models.Model):
    """One version of a questionnaire. Immutable once anyone has answered it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="instruments"
    )
    key = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    definition = models.JSONField()
    digest = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=InstrumentStatus.choices, default=InstrumentStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # An imported FHIR questionnaire waits for the owner's scales step before publishing.
    scales_pending = models.BooleanField(default=False)
    # What an import left out or ignored, for the owner to read in the scales step.
    import_notes = models.JSONField(default=list, blank=True)

    objects = InstrumentManager()

    class Meta:
        ordering = ["title", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=Q(practice__isnull=True),
                name="builtin_instrument_version_unique",
            ),
            models.UniqueConstraint(
                fields=["practice", "key", "version"],
                condition=Q(practice__isnull=False),
                name="practice_instrument_version_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @property
    def is_builtin(self) -> bool:
        return self.practice_id is None

    @property
    def plan(self) -> Plan:
        """The compiled scoring plan, shared by every copy of this instrument version."""
        key = (self.pk, self.digest)
        plan = _PLANS.get(key)
        if plan is None:
            plan = _PLANS[key] = Plan.compile(self.definition)
        return plan

    @property
    def is_private(self) -> bool:
        return bool(self.definition.get("private"))

    @property
    def estimated_minutes(self) -> int:
        return int(self.definition["estimated_minutes"])

    def text(self, field: str, language: str) -> str:
        return defn.localized(
            self.definition.get(field), language, self.definition["default_language"]
        )

    def scale_label(self, key: str, language: str) -> str:
        for scale in self.definition["scales"]:
            if scale["key"] == key:
                return defn.localized(scale["label"], language, self.definition["default_language"])
        return key

    def band_label(self, scale_key: str, band_key: str | None, language: str) -> str:
        if not band_key:
            return ""
        for scale in self.definition["scales"]:
            if scale["key"] == scale_key:
                for band in scale.get("bands", []):
                    if band["key"] == band_key:
                        return defn.localized(
                            band["label"], language, self.definition["default_language"]
                        )
        return band_key

    def direction(self, scale_key: str) -> str:
        for scale in self.definition["scales"]:
            if scale["key"] == scale_key:
                return str(scale.get("direction") or self.definition["direction"])
        return str(self.definition["direction"])

    @property
    def total_key(self) -> str:
        return self.plan.total_key


class RepeatUnit(models.TextChoices):
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")
    # Every form it will ever open is open (a one-off assignment, or a series at its end).
    FINISHED = "finished", _("Finished")


class Assignment(models.Model):
    """A request that a couple (or one partner) answer an instrument, once or repeatedly."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="assignments")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(
        Partner,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty means both partners."),
    )
    first_due = models.DateField()
    repeat_every = models.PositiveSmallIntegerField(null=True, blank=True)
    repeat_unit = models.CharField(max_length=8, choices=RepeatUnit.choices, blank=True)
    repeat_until = models.DateField(null=True, blank=True)
    repeat_count = models.PositiveSmallIntegerField(null=True, blank=True)
    reminders = models.BooleanField(default=True)
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE
    )
    # The due date of the next occurrence to create; None when no more will come.
    next_due = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the assignment came from applying a protocol.
    protocol_application = models.ForeignKey(
        "ProtocolApplication",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assignments",
    )

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_due"], name="assignment_due")]

    def __str__(self) -> str:
        return f"assignment {self.uuid}"

    @property
    def is_recurring(self) -> bool:
        return bool(self.repeat_every and self.repeat_unit)

    @property
    def repeat_label(self) -> str:
        """ "every week", "every 2 weeks", "every 3 days" (plural forms per language)."""
        return repeat_label(self.repeat_every or 1, self.repeat_unit)


def repeat_label(every: int, unit: str) -> str:
    """How often a form repeats, in words; "every 1 weeks" never shows."""
    days = unit == RepeatUnit.DAYS
    if every == 1:
        return str(_("every day") if days else _("every week"))
    if days:
        return ngettext("every %(n)d day", "every %(n)d days", every) % {"n": every}
    return ngettext("every %(n)d week", "every %(n)d weeks", every) % {"n": every}


class Occurrence(models.Model):
    """One due instance of an assignment: each targeted partner answers it once."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="occurrences")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="occurrences")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    due_date = models.DateField()
    expected = models.PositiveSmallIntegerField()  # 1 or 2 partners
    submitted = models.PositiveSmallIntegerField(default=0)
    cancelled = models.BooleanField(default=False)
    last_reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-due_date", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "sequence"], name="occurrence_sequence"),
            models.CheckConstraint(
                condition=Q(submitted__lte=F("expected")), name="occurrence_not_over_submitted"
            ),
        ]
        indexes = [models.Index(fields=["couple", "due_date"], name="occurrence_couple_due")]

    def __str__(self) -> str:
        return f"occurrence {self.uuid}"

    @property
    def is_complete(self) -> bool:
        return self.submitted >= self.expected

    def is_overdue(self, today: Any = None) -> bool:
        today = today or timezone.localdate()
        return not self.is_complete and not self.cancelled and self.due_date < today


class ResponseState(models.TextChoices):
    DRAFT = "draft", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class ScoringError(models.TextChoices):
    """Why a submission has no scores. Codes only: never the exception's text, which may
    quote an answer."""

    INVALID_ANSWERS = "invalid_answers", _("The stored answers do not fit the form")
    FAILED = "failed", _("Scoring stopped with an error")


class Response(models.Model):
    """One partner's answers to one occurrence: a draft, then a submission."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="responses")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="responses")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=16, choices=ResponseState.choices, default=ResponseState.DRAFT
    )
    answers = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, default="en")
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    scoring_version = models.CharField(max_length=16, blank=True)
    # A submission that made scoring fail: what kind of failure, how many tries, and when
    # the sweeper tries again (None once the tries are used up: it waits for a person).
    scoring_error = models.CharField(max_length=24, choices=ScoringError.choices, blank=True)
    scoring_attempts = models.PositiveSmallIntegerField(default=0)
    scoring_retry_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-submitted_at", "-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["occurrence", "partner"], name="one_response_each")
        ]
        indexes = [
            models.Index(fields=["state", "scored_at"], name="response_scoring_queue"),
        ]

    def __str__(self) -> str:
        return f"response {self.uuid}"

    @property
    def is_submitted(self) -> bool:
        return self.state == ResponseState.SUBMITTED

    @property
    def scoring_given_up(self) -> bool:
        """Scoring failed every time it was tried: it waits for a person to retry it."""
        return bool(self.scoring_error) and self.scoring_retry_at is None


class Score(models.Model):
    """One scale's score for one submitted response. Re-scoring replaces the row."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    # Denormalised from the response so series and caseload queries need no joins.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    instrument_key = models.SlugField(max_length=64)
    submitted_at = models.DateTimeField()
    scale = models.CharField(max_length=48)
    is_total = models.BooleanField(default=False)
    value = models.FloatField(null=True)
    answered = models.PositiveSmallIntegerField()
    n_items = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=48, blank=True)
    scoring_version = models.CharField(max_length=16)

    objects = ScopedManager(practice="practice")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "scale"], name="one_score_per_scale")
        ]
        indexes = [
            models.Index(
                fields=["partner", "instrument_key", "scale", "-submitted_at"],
                name="score_series",
            ),
            models.Index(
                fields=["couple", "instrument_key", "is_total", "-submitted_at"],
                name="score_couple_latest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scale}={self.value}"


class AlertKind(models.TextChoices):
    SAFETY = "safety", _("Safety concern")
    SPLIT = "split", _("Partners moving apart")
    CLINICAL = "clinical", _("Clinical flag")
    DETERIORATION = "deterioration", _("Reliable deterioration")
    DISAGREEMENT = "disagreement", _("Large partner disagreement")
    OVERDUE = "overdue", _("Overdue form")
    SCORING = "scoring", _("Could not score")


# Lower is more urgent; the dashboard sorts on it. A split (one partner better, the
# other worse) ranks after safety and before one partner's deterioration.
ALERT_SEVERITY = {
    AlertKind.SAFETY: 1,
    AlertKind.SPLIT: 2,
    AlertKind.CLINICAL: 3,
    AlertKind.DETERIORATION: 3,
    AlertKind.DISAGREEMENT: 4,
    # Missing scores can hide a deterioration: looked at before overdue forms.
    AlertKind.SCORING: 4,
    AlertKind.OVERDUE: 5,
}


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Alert(models.Model):
    """Something a clinician should look at. Carries references, never answers."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="alerts")
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    severity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    occurrence = models.ForeignKey(
        Occurrence, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # One alert per cause: the same cause found again does not raise a second one.
    dedupe_key = models.CharField(max_length=160)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The email outbox for alerts that are mailed (safety): set once the clinicians were
    # emailed. A safety alert raised while the broker was down is still unset, and the
    # sweeper sends it.
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True, max_length=4000)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["severity", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "dedupe_key"], name="alert_once_per_cause")
        ]
        indexes = [models.Index(fields=["couple", "status"], name="alert_couple_status")]

    def __str__(self) -> str:
        return f"{self.kind} alert {self.uuid}"

    @property
    def is_open(self) -> bool:
        return self.status != AlertStatus.RESOLVED


class NormEstimate(models.Model):
    """Baseline spread and reliability of a scale, estimated from first administrations.

    Aggregates pooled across the practices that allow it; holds no client data.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    # Empty: the shared pool. Set only for demo practices, whose made-up data is pooled
    # with nobody else's.
    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scale = models.CharField(max_length=48)
    n = models.PositiveIntegerField(help_text="Complete first administrations the estimate uses.")
    mean = models.FloatField(null=True)
    sd = models.FloatField(null=True)
    alpha = models.FloatField(null=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "scale"],
                condition=Q(practice__isnull=True),
                name="one_pooled_norm_per_scale",
            ),
            models.UniqueConstraint(
                fields=["instrument", "scale", "practice"],
                condition=Q(practice__isnull=False),
                name="one_demo_norm_per_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.scale} (n={self.n})"


class CaseloadSummary(models.Model):
    """What the caseload, the couple list API and analytics read about one couple.

    Kept current by ``assessments/summary.py`` in the same transaction as every
    event that changes it (a form submitted, reopened or scored, an alert raised
    or resolved, an assignment made, paused or opened, a case closed), so a
    caseload page reads one row per couple instead of recomputing history.
    ``manage.py rebuild_summaries`` recomputes every row from the history.

    Whether a form is overdue depends on the day it is read: the row keeps the
    dates, and the reader compares them with today.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    couple = models.OneToOneField(Couple, on_delete=models.CASCADE, related_name="summary")
    # The latest two connection-pulse totals of each partner (newest first).
    one_latest = models.FloatField(null=True)
    one_previous = models.FloatField(null=True)
    two_latest = models.FloatField(null=True)
    two_previous = models.FloatField(null=True)
    connection_mean = models.FloatField(null=True)
    # Alerts not resolved; severity 1 is the most urgent; 99 when there are none.
    alert_count = models.PositiveIntegerField(default=0)
    top_severity = models.PositiveSmallIntegerField(null=True)
    alert_rank = models.PositiveSmallIntegerField(default=99)
    # Forms (occurrences, not cancelled) with at least one answer.
    done_forms = models.PositiveIntegerField(default=0)
    # Due dates of the forms still waiting for an answer: the earliest, the latest, and
    # the earliest of those that wait on both partners (nobody has answered).
    open_first_due = models.DateField(null=True)
    open_last_due = models.DateField(null=True)
    untouched_first_due = models.DateField(null=True)
    # The next form a repeating assignment will open.
    next_scheduled = models.DateField(null=True)
    next_due = models.DateField(null=True)
    # Per partner, in position order: {"open": [due dates, ISO], "done": submitted count}.
    partner_forms = models.JSONField(default=list)
    last_activity = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        indexes = [
            models.Index(fields=["practice", "alert_rank", "couple"], name="summary_alerts"),
            models.Index(fields=["practice", "next_due", "couple"], name="summary_due"),
        ]

    def __str__(self) -> str:
        return f"summary of couple {self.couple_id}"


class Protocol(models.Model):
    """A practice's named bundle of forms on a schedule, applied to couples in one action.

    ``steps`` is a list of ``{"instrument": key, "start_after": n, "start_unit": unit,
    "every": n or null, "unit": unit, "count": n or null}``; an instrument is named by
    key so that applying a protocol always uses the form's latest published version.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    steps = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "name"], name="protocol_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ProtocolApplication(models.Model):
    """One protocol applied to one couple from one start date: never twice the same."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="applications")
    couple = models.ForeignKey(Couple, on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(practice="practice")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A double submit (or two clinicians at once) applies it once.
            models.UniqueConstraint(
                fields=["protocol", "couple", "start"], name="protocol_applied_once"
            )
        ]

    def __str__(self) -> str:
        return f"protocol application {self.uuid}"
