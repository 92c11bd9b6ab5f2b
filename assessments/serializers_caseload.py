"""API shape of a caseload row: a couple with its progress, forms, scores and alerts.

``CoupleSerializer`` is the shape's definition (the OpenAPI schema is drawn from
it); ``couple_rows`` renders the same JSON from ``.values()`` rows with plain
functions, which is what the list and the single-couple answers send: a page of
50 couples through nested serializers costs more than everything else the list
does. tests/test_api_caseload_json.py holds the two to the same output.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.caseload import PartnerForms as Forms
from assessments.caseload import partner_forms, trend
from clients.models import Couple, CoupleStatus, Partner
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


# --- The same JSON from plain rows -------------------------------------------------------

# What a row needs from caseload() (the sort keys too, for the keyset cursor).
ROW_VALUES = (
    "id",
    "uuid",
    "label",
    "status",
    "start_date",
    "monthly_report",
    "next_due",
    "forms_by_partner",
    "progress",
    "sort_missing",
    "sort_value",
)
CLINICAL_VALUES = ("one_latest", "one_previous", "two_latest", "two_previous", "alert_count")
PARTNER_VALUES = ("uuid", "position", "display_name", "email", "phone", "language", "portal_state")


def row_values(couples: QuerySet[Couple], clinical: bool) -> QuerySet[Couple, dict[str, Any]]:
    """``caseload()``'s couples as the plain rows ``couple_rows`` renders (no prefetches)."""
    names = ROW_VALUES + CLINICAL_VALUES if clinical else ROW_VALUES
    return couples.prefetch_related(None).values(*names)


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _related(couple_ids: list[int]) -> tuple[dict[int, list[Any]], dict[int, list[Any]]]:
    """Each couple's partners (position order) and clinicians (by name): two queries."""
    partners: dict[int, list[dict[str, Any]]] = defaultdict(list)
    clinicians: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not couple_ids:
        return partners, clinicians
    rows = Partner.objects.filter(couple_id__in=couple_ids).order_by("couple_id", "position")
    for row in rows.values("couple_id", *PARTNER_VALUES):
        partners[row.pop("couple_id")].append(
            {
                **row,
                "uuid": str(row["uuid"]),
                "position": int(row["position"]),
                "display_name": str(row["display_name"]),
                "email": str(row["email"]),
                "phone": str(row["phone"]),
                "language": str(row["language"]),
            }
        )
    # The couple ids come from the scoped caseload query; the join table has no scope of its
    # own, and row-level security shows its rows only where the couple is visible.
    links = Couple.clinicians.through.objects.filter(couple_id__in=couple_ids).order_by(
        "couple_id", "user__full_name", "user_id"
    )
    for couple_id, uuid, full_name in links.values_list(
        "couple_id", "user__uuid", "user__full_name"
    ):
        clinicians[couple_id].append({"uuid": str(uuid), "full_name": str(full_name)})
    return partners, clinicians


def couple_rows(
    rows: Sequence[dict[str, Any]], clinical: bool, today: date
) -> list[dict[str, Any]]:
    """The JSON of ``CoupleSerializer`` for ``row_values()`` rows, with two more queries."""
    partners, clinicians = _related([row["id"] for row in rows])
    out = []
    for row in rows:
        own = partners.get(row["id"], [])
        stored = list(row["forms_by_partner"] or [])
        stored += [{}] * (len(own) - len(stored))
        forms = [Forms.on(entry, today) for entry in stored[: len(own)]]
        item: dict[str, Any] = {
            "uuid": str(row["uuid"]),
            "label": str(row["label"]),
            "status": row["status"],
            "start_date": _date(row["start_date"]),
            "monthly_report": bool(row["monthly_report"]),
            "partners": own,
            "clinicians": clinicians.get(row["id"], []),
            "progress": PROGRESS_CODES[row["progress"]],
            "forms": [
                {
                    "partner": p["uuid"],
                    "overdue": f.overdue,
                    "due": f.due,
                    "coming": _date(f.coming),
                    "done": f.done,
                }
                for p, f in zip(own, forms, strict=False)
            ],
            "next_due": _date(row["next_due"]),
            "connection": None,
            "open_alerts": None,
        }
        if clinical:
            pairs = [
                (_float(row["one_latest"]), _float(row["one_previous"])),
                (_float(row["two_latest"]), _float(row["two_previous"])),
            ]
            item["connection"] = [
                {
                    "partner": p["uuid"],
                    "latest": latest,
                    "previous": previous,
                    "trend": trend(latest, previous),
                }
                for p, (latest, previous) in zip(own, pairs, strict=False)
            ]
            item["open_alerts"] = int(row["alert_count"] or 0)
        out.append(item)
    return out
