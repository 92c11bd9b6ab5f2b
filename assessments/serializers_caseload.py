"""API shape of a caseload row: a couple with its progress, forms, scores and alerts."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.caseload import partner_forms, trend
from clients.models import Couple, CoupleStatus
from clients.serializers import PartnerSerializer, PersonRef

PROGRESS_CODES = {
    0: "overdue",
    1: "one_partner_done",
    2: "not_started",
    3: "both_done",
    4: "nothing_due",
    5: "none",
}


class ConnectionScore(serializers.Serializer):
    partner = serializers.UUIDField()
    latest = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(allow_null=True)
    trend = serializers.ChoiceField(choices=["up", "down", "flat", ""])


class PartnerForms(serializers.Serializer):
    partner = serializers.UUIDField()
    overdue = serializers.IntegerField(help_text="Forms meant for them, past due, unsubmitted.")
    due = serializers.IntegerField(help_text="Due on or before today and unsubmitted.")
    coming = serializers.DateField(
        allow_null=True, help_text="Due date of the soonest form in the portal but not due yet."
    )
    done = serializers.IntegerField(help_text="Forms they have submitted.")


class CoupleSerializer(serializers.Serializer):
    """A caseload row. Clinical fields are null for assistants: one shape for every role."""

    uuid = serializers.UUIDField(read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=CoupleStatus.choices, read_only=True)
    start_date = serializers.DateField(read_only=True)
    monthly_report = serializers.BooleanField(read_only=True)
    partners = PartnerSerializer(many=True, read_only=True)
    clinicians = PersonRef(many=True, read_only=True)
    progress = serializers.SerializerMethodField()
    forms = serializers.SerializerMethodField()
    next_due = serializers.DateField(read_only=True, allow_null=True)
    connection = serializers.SerializerMethodField(
        help_text="Latest connection-pulse score of each partner; null for assistants."
    )
    open_alerts = serializers.SerializerMethodField(
        help_text="Unresolved alerts about the couple; null for assistants."
    )

    @extend_schema_field(
        serializers.ChoiceField(
            choices=list(PROGRESS_CODES.values()),
            help_text=str(
                _(
                    "The forms open now (due on or before today): overdue; one_partner_done "
                    "(one partner still has a form due); not_started (both have); both_done "
                    "(nothing due is unanswered); nothing_due (forms are assigned, none due "
                    "or answered yet); none."
                )
            ),
        )
    )
    def get_progress(self, couple: Couple) -> str:
        return PROGRESS_CODES[getattr(couple, "progress", 5)]

    @extend_schema_field(PartnerForms(many=True))
    def get_forms(self, couple: Couple) -> list[dict[str, Any]]:
        return [
            {
                "partner": p.uuid,
                "overdue": forms.overdue,
                "due": forms.due,
                "coming": forms.coming,
                "done": forms.done,
            }
            for p, forms in zip(couple.partners.all(), partner_forms(couple), strict=False)
        ]

    @extend_schema_field(ConnectionScore(many=True, allow_null=True))
    def get_connection(self, couple: Couple) -> list[dict[str, Any]] | None:
        if not self.context.get("clinical"):
            return None
        partners = list(couple.partners.all())
        pairs = [
            (getattr(couple, "one_latest", None), getattr(couple, "one_previous", None)),
            (getattr(couple, "two_latest", None), getattr(couple, "two_previous", None)),
        ]
        return [
            {
                "partner": p.uuid,
                "latest": latest,
                "previous": previous,
                "trend": trend(latest, previous),
            }
            for p, (latest, previous) in zip(partners, pairs, strict=False)
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0))
    def get_open_alerts(self, couple: Couple) -> int | None:
        if not self.context.get("clinical"):
            return None
        return int(getattr(couple, "alert_count", 0) or 0)
