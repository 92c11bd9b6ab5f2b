"""API shapes of instruments, assignments, responses, results, history and alerts."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.alert_text import explain
from assessments.models import (
    AlertKind,
    AlertStatus,
    AssignmentStatus,
    InstrumentStatus,
    RepeatUnit,
    ResponseState,
    ScoringError,
)
from assessments.results import Growth
from assessments.stats import ChangeClass, CoupleWord
from practice.api_base import StrictSerializer


class InstrumentSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    key = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=InstrumentStatus.choices, read_only=True)
    builtin = serializers.BooleanField(source="is_builtin", read_only=True)
    private = serializers.BooleanField(source="is_private", read_only=True)
    estimated_minutes = serializers.IntegerField(read_only=True)
    languages = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_languages(self, instrument: Any) -> list[str]:
        return list(instrument.definition["languages"])


class InstrumentDetailSerializer(InstrumentSerializer):
    definition = serializers.JSONField(read_only=True)
    scales_pending = serializers.BooleanField(
        read_only=True, help_text="An imported questionnaire waiting for its scales step."
    )
    import_notes = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What a FHIR import left out or ignored.",
    )


class InstrumentUpload(StrictSerializer):
    definition = serializers.JSONField(
        help_text="An instrument definition (see docs/instruments.md and the JSON Schema)."
    )


class Recurrence(StrictSerializer):
    every = serializers.IntegerField(min_value=1, max_value=52)
    unit = serializers.ChoiceField(choices=RepeatUnit.choices)
    until = serializers.DateField(required=False, allow_null=True)
    count = serializers.IntegerField(min_value=2, max_value=104, required=False, allow_null=True)


class RecurrenceOut(serializers.Serializer):
    """A stored schedule as it is, whatever made it: the input limits above do not apply
    (the demo and older imports hold schedules such as every 91 days)."""

    every = serializers.IntegerField(min_value=1)
    unit = serializers.ChoiceField(choices=RepeatUnit.choices)
    until = serializers.DateField(allow_null=True)
    count = serializers.IntegerField(allow_null=True, min_value=1)


class OccurrenceSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    sequence = serializers.IntegerField()
    due_date = serializers.DateField()
    expected = serializers.IntegerField()
    submitted = serializers.IntegerField()
    cancelled = serializers.BooleanField()


class AssignmentSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    couple = serializers.UUIDField(source="couple.uuid", read_only=True)
    instrument = InstrumentSerializer(read_only=True)
    partner = serializers.UUIDField(source="partner.uuid", read_only=True, allow_null=True)
    first_due = serializers.DateField(read_only=True)
    repeat = serializers.SerializerMethodField()
    reminders = serializers.BooleanField(read_only=True)
    status = serializers.ChoiceField(choices=AssignmentStatus.choices, read_only=True)
    next_due = serializers.DateField(read_only=True, allow_null=True)
    occurrences = serializers.SerializerMethodField()

    @extend_schema_field(RecurrenceOut(allow_null=True))
    def get_repeat(self, assignment: Any) -> dict[str, Any] | None:
        if not assignment.is_recurring:
            return None
        return {
            "every": assignment.repeat_every,
            "unit": assignment.repeat_unit,
            "until": assignment.repeat_until,
            "count": assignment.repeat_count,
        }

    @extend_schema_field(OccurrenceSerializer(many=True))
    def get_occurrences(self, assignment: Any) -> list[dict[str, Any]]:
        return OccurrenceSerializer(list(assignment.occurrences.all())[:20], many=True).data  # type: ignore[return-value]


class AssignmentCreate(StrictSerializer):
    instrument = serializers.UUIDField(help_text="A published instrument's uuid.")
    partner = serializers.UUIDField(
        required=False, allow_null=True, help_text="Omit or null for both partners."
    )
    first_due = serializers.DateField()
    repeat = Recurrence(required=False, allow_null=True)
    reminders = serializers.BooleanField(required=False, default=True)


class AssignmentStatusChange(StrictSerializer):
    status = serializers.ChoiceField(
        choices=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED, AssignmentStatus.CANCELLED]
    )


class ScoreSerializer(serializers.Serializer):
    scale = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_blank=True)
    answered = serializers.IntegerField()
    n_items = serializers.IntegerField()


class ResponseSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    occurrence = serializers.UUIDField(source="occurrence.uuid")
    partner = serializers.UUIDField(source="partner.uuid")
    instrument = serializers.CharField(source="instrument.key")
    version = serializers.IntegerField(source="instrument.version")
    state = serializers.ChoiceField(choices=ResponseState.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    answers = serializers.DictField(child=serializers.JSONField())
    scores = ScoreSerializer(many=True)
    scored_at = serializers.DateTimeField(allow_null=True)
    scoring_error = serializers.ChoiceField(
        choices=ScoringError.choices,
        allow_blank=True,
        help_text="Set when scoring failed; the scores are missing until it succeeds.",
    )
    scoring_attempts = serializers.IntegerField(help_text="Failed scoring attempts so far.")
    scoring_retry_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When scoring is tried again; null with an error means no more "
        "automatic tries (staff ask support to retry).",
    )


# The results API serializes a form_results.FormResults record (built in English): its
# compared scales are ScaleLines and its compared items ItemLines. No docstrings here: the
# schema would take them as descriptions.
class ScaleComparison(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    one = serializers.FloatField(source="comparison.one", allow_null=True)
    two = serializers.FloatField(source="comparison.two", allow_null=True)
    mean = serializers.FloatField(source="comparison.mean", allow_null=True)
    difference = serializers.FloatField(source="comparison.difference", allow_null=True)


class ItemAgreement(serializers.Serializer):
    link_id = serializers.CharField()
    text = serializers.CharField()
    one = serializers.FloatField(source="agreement.one", allow_null=True)
    two = serializers.FloatField(source="agreement.two", allow_null=True)
    gap = serializers.FloatField(source="agreement.gap", allow_null=True)
    gap_needed = serializers.FloatField(
        source="agreement.gap_needed", help_text="Half the item's answer range."
    )
    flagged = serializers.BooleanField(
        source="agreement.flagged", help_text="The gap is at least gap_needed."
    )
    strength = serializers.BooleanField(source="agreement.strength")
    growth = serializers.BooleanField(source="agreement.growth")
    growth_reason = serializers.ChoiceField(
        source="agreement.growth_reason",
        choices=[g.value for g in Growth],
        allow_null=True,
        help_text="Both low, far apart, or both on the middle answer (undecided).",
    )


class CoupleComparison(serializers.Serializer):
    scales = ScaleComparison(many=True)
    items = ItemAgreement(many=True)


class PartnerResult(serializers.Serializer):
    partner = serializers.UUIDField(source="partner.uuid")
    submitted = serializers.BooleanField()
    scores = ScoreSerializer(many=True)


class ResultsSerializer(serializers.Serializer):
    occurrence = OccurrenceSerializer()
    instrument = InstrumentSerializer()
    partners = PartnerResult(many=True)
    couple = CoupleComparison(
        allow_null=True,
        help_text="Null until both partners submitted, and always for private instruments.",
    )


class HistoryPoint(serializers.Serializer):
    at = serializers.DateTimeField()
    value = serializers.FloatField()
    response = serializers.UUIDField()
    rci_from_previous = serializers.FloatField(allow_null=True)


class ChangeSerializer(serializers.Serializer):
    x1 = serializers.FloatField()
    x2 = serializers.FloatField()
    rci = serializers.FloatField()
    change_class = serializers.ChoiceField(choices=[c.value for c in ChangeClass])


class PartnerHistory(serializers.Serializer):
    partner = serializers.UUIDField()
    points = HistoryPoint(many=True)
    rci = serializers.FloatField(allow_null=True, help_text="First to latest (as since_start).")
    change_class = serializers.ChoiceField(
        choices=[c.value for c in ChangeClass],
        allow_null=True,
        help_text="First to latest (as since_start).",
    )
    since_start = ChangeSerializer(
        allow_null=True, help_text="First to latest score; null without norms or two scores."
    )
    since_previous = ChangeSerializer(
        allow_null=True, help_text="The score before the latest to the latest."
    )
    open_deterioration_alert_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When an unresolved deterioration alert on this measure was raised, if any.",
    )


class CouplePointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The later of the two submissions.")
    one = serializers.FloatField(help_text="Partner one's score on the shared questions.")
    two = serializers.FloatField(help_text="Partner two's score on the shared questions.")
    mean = serializers.FloatField(help_text="The couple composite.")
    gap = serializers.FloatField()


class CoupleChangeSerializer(serializers.Serializer):
    word = serializers.ChoiceField(choices=[w.value for w in CoupleWord])
    first = serializers.FloatField(allow_null=True)
    latest = serializers.FloatField(allow_null=True)
    rc = serializers.FloatField(
        allow_null=True, help_text="(latest - first) / (SD * sqrt(1 - r)); null when too early."
    )


class CoupleHistory(serializers.Serializer):
    points = CouplePointSerializer(many=True)
    since_start = CoupleChangeSerializer()
    since_previous = CoupleChangeSerializer()


class NormsSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["published", "estimated", ""])  # type: ignore[assignment]
    n = serializers.IntegerField()
    sd = serializers.FloatField(allow_null=True)
    reliability = serializers.FloatField(allow_null=True)
    cutoff = serializers.FloatField(allow_null=True)
    citation = serializers.CharField(allow_blank=True, help_text="Where published norms come from.")
    reason = serializers.CharField(
        allow_blank=True, help_text="Why there is no RCI, when there is none."
    )


class HistorySerializer(serializers.Serializer):
    instrument = InstrumentSerializer()
    scale = serializers.CharField()
    norms = NormsSerializer()
    partners = PartnerHistory(many=True)
    couple = CoupleHistory(
        allow_null=True,
        help_text="The couple composite on forms both answered; null for private screens.",
    )


class AlertSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    couple = serializers.UUIDField(source="couple.uuid")
    partner = serializers.UUIDField(source="partner.uuid", allow_null=True)
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    severity = serializers.IntegerField(help_text="1 is the most urgent.")
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_note = serializers.CharField(allow_blank=True)
    details = serializers.DictField(
        child=serializers.JSONField(),
        help_text="What fired the rule: instrument and scale keys, rule id and its numbers.",
    )
    text = serializers.SerializerMethodField(
        help_text="The alert explained in the request's language, from its details."
    )

    def get_text(self, alert: Any) -> str:
        if not hasattr(alert, "explanation"):
            explain([alert], get_language())
        return str(alert.explanation)


class ResolveAlert(StrictSerializer):
    note = serializers.CharField(max_length=4000)
