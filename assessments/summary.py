"""The caseload read model: one ``CaseloadSummary`` row per couple, kept current.

``refresh(couple_ids)`` recomputes the rows of some couples from their history
and writes them; the services call it inside the transaction of each event that
changes what a row holds, so a caseload read never sees an event without its
summary. ``rebuild()`` does the same for every couple, in batches, for
``manage.py rebuild_summaries`` (after a restore, or a change to what is kept).

The computation is the one the caseload used to run on every read, now run once
per event for the couples concerned.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django_scopes import scopes_disabled

from assessments.models import (
    Alert,
    AlertStatus,
    Assignment,
    AssignmentStatus,
    CaseloadSummary,
    Occurrence,
    Response,
    ResponseState,
    Score,
)
from clients.models import Couple, Partner
from clients.signals import couple_changed

log = logging.getLogger(__name__)

# The headline measure: the one-item connection pulse, asked often.
CONNECTION_KEY = "connection-pulse"
NO_ALERT_RANK = 99
BATCH = 1000

FIELDS = [
    "one_latest",
    "one_previous",
    "two_latest",
    "two_previous",
    "connection_mean",
    "alert_count",
    "top_severity",
    "alert_rank",
    "done_forms",
    "open_first_due",
    "open_last_due",
    "untouched_first_due",
    "next_scheduled",
    "next_due",
    "partner_forms",
    "last_activity",
]


def _latest_pulse(position: int, offset: int) -> Subquery:
    return Subquery(
        Score.objects.filter(
            couple=OuterRef("pk"),
            partner__position=position,
            instrument_key=CONNECTION_KEY,
            is_total=True,
        )
        .order_by("-submitted_at", "-pk")
        .values("value")[offset : offset + 1],
        output_field=FloatField(),
    )


def _aggregate(queryset: QuerySet[Any], function: Any, field: str, output: Any) -> Subquery:
    return Subquery(
        queryset.order_by().values("couple").annotate(v=function(field)).values("v"),
        output_field=output,
    )


def _count(queryset: QuerySet[Any]) -> Coalesce:
    return Coalesce(_aggregate(queryset, Count, "pk", IntegerField()), 0)


def _couples(couple_ids: list[int]) -> QuerySet[Couple]:
    """The couples with everything their row holds, computed from history."""
    open_forms = Occurrence.objects.filter(
        couple=OuterRef("pk"), cancelled=False, submitted__lt=F("expected")
    )
    open_alerts = Alert.objects.filter(couple=OuterRef("pk")).exclude(status=AlertStatus.RESOLVED)
    return Couple.objects.filter(pk__in=couple_ids).annotate(
        one_latest=_latest_pulse(1, 0),
        one_previous=_latest_pulse(1, 1),
        two_latest=_latest_pulse(2, 0),
        two_previous=_latest_pulse(2, 1),
        alert_count=_count(open_alerts),
        top_severity=_aggregate(open_alerts, Min, "severity", IntegerField()),
        done_forms=_count(
            Occurrence.objects.filter(couple=OuterRef("pk"), cancelled=False, submitted__gt=0)
        ),
        open_first_due=_aggregate(open_forms, Min, "due_date", DateField()),
        open_last_due=_aggregate(open_forms, Max, "due_date", DateField()),
        untouched_first_due=_aggregate(
            open_forms.filter(expected=2, submitted=0), Min, "due_date", DateField()
        ),
        next_scheduled=_aggregate(
            Assignment.objects.filter(
                couple=OuterRef("pk"), status=AssignmentStatus.ACTIVE, next_due__isnull=False
            ),
            Min,
            "next_due",
            DateField(),
        ),
        last_activity=_aggregate(
            Response.objects.filter(couple=OuterRef("pk"), state=ResponseState.SUBMITTED),
            Max,
            "submitted_at",
            DateTimeField(),
        ),
    )


def _partner_forms(couple_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per couple, each partner's open due dates and submitted count, in position order."""
    partners = list(
        Partner.objects.filter(couple_id__in=couple_ids)
        .order_by("couple_id", "position")
        .values_list("pk", "couple_id")
    )
    open_forms = list(
        Occurrence.objects.filter(
            couple_id__in=couple_ids, cancelled=False, submitted__lt=F("expected")
        ).values_list("pk", "couple_id", "due_date", "assignment__partner_id")
    )
    answered = set(
        Response.objects.filter(
            occurrence_id__in=[o[0] for o in open_forms], state=ResponseState.SUBMITTED
        ).values_list("occurrence_id", "partner_id")
    )
    done = dict(
        Response.objects.filter(
            couple_id__in=couple_ids, state=ResponseState.SUBMITTED, occurrence__cancelled=False
        )
        .order_by()
        .values("partner_id")
        .annotate(n=Count("pk"))
        .values_list("partner_id", "n")
    )
    dues: dict[int, list[date]] = defaultdict(list)
    by_couple: dict[int, list[int]] = defaultdict(list)
    for partner_id, couple_id in partners:
        by_couple[couple_id].append(partner_id)
    for occurrence_id, couple_id, due, meant_for in open_forms:
        for partner_id in by_couple[couple_id]:
            if meant_for not in (None, partner_id) or (occurrence_id, partner_id) in answered:
                continue
            dues[partner_id].append(due)
    return {
        couple_id: [
            {
                "open": [d.isoformat() for d in sorted(dues[partner_id])],
                "done": done.get(partner_id, 0),
            }
            for partner_id in partner_ids
        ]
        for couple_id, partner_ids in by_couple.items()
    }


def compute(couple_ids: Iterable[int]) -> list[CaseloadSummary]:
    """The rows these couples should have now (unsaved)."""
    ids = list(couple_ids)
    forms = _partner_forms(ids)
    rows = []
    for couple in _couples(ids):
        one, two = couple.one_latest, couple.two_latest  # type: ignore[attr-defined]
        rows.append(
            CaseloadSummary(
                practice_id=couple.practice_id,
                couple_id=couple.pk,
                one_latest=one,
                one_previous=couple.one_previous,  # type: ignore[attr-defined]
                two_latest=two,
                two_previous=couple.two_previous,  # type: ignore[attr-defined]
                connection_mean=(one + two) / 2.0 if one is not None and two is not None else None,
                alert_count=couple.alert_count,  # type: ignore[attr-defined]
                top_severity=couple.top_severity,  # type: ignore[attr-defined]
                alert_rank=NO_ALERT_RANK if couple.top_severity is None else couple.top_severity,  # type: ignore[attr-defined]
                done_forms=couple.done_forms,  # type: ignore[attr-defined]
                open_first_due=couple.open_first_due,  # type: ignore[attr-defined]
                open_last_due=couple.open_last_due,  # type: ignore[attr-defined]
                untouched_first_due=couple.untouched_first_due,  # type: ignore[attr-defined]
                next_scheduled=couple.next_scheduled,  # type: ignore[attr-defined]
                next_due=min(
                    (d for d in (couple.open_first_due, couple.next_scheduled) if d),  # type: ignore[attr-defined]
                    default=None,
                ),
                partner_forms=forms.get(couple.pk, []),
                last_activity=couple.last_activity,  # type: ignore[attr-defined]
            )
        )
    return rows


def refresh(couple_ids: Iterable[int]) -> int:
    """Recompute and write the rows of these couples; call inside the event's transaction."""
    ids = sorted(set(couple_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        rows = compute(ids[start : start + BATCH])
        CaseloadSummary.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["couple"],
            update_fields=[*FIELDS, "updated_at"],
        )
        written += len(rows)
    return written


def refresh_couple(couple: Couple | int) -> None:
    """One couple's row, after an event of theirs."""
    refresh([couple if isinstance(couple, int) else couple.pk])


def _batches(batch: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(
            Couple.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def rebuild(batch: int = BATCH) -> int:
    """Every couple's row, recomputed in batches of short transactions; returns rows written."""
    written = 0
    # The whole table, across practices, is what a rebuild is for; it writes only summaries.
    with scopes_disabled():
        for ids in _batches(batch):
            with transaction.atomic():
                written += refresh(ids)
    return written


def fill_missing(**kwargs: Any) -> int:
    """After ``migrate``: a row for every couple that has none (an upgrade, a restore)."""
    written = 0
    # Runs once per migrate, across practices, and writes only summaries.
    with scopes_disabled():
        missing = list(
            Couple.objects.filter(summary__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
        for start in range(0, len(missing), BATCH):
            with transaction.atomic():
                written += refresh(missing[start : start + BATCH])
    if written:
        log.info("wrote the caseload summaries of %d couples that had none", written)
    return written


@receiver(couple_changed)
def _on_couple_changed(sender: Any, couple: Couple, **kwargs: Any) -> None:
    """A case closed (its open forms cancelled) or otherwise changed: its row follows."""
    refresh_couple(couple)
