"""What the couple page shows of assessments, cut to what the member's role allows."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import F, Min, Prefetch
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language

from assessments.alert_text import explain
from assessments.history import chart_svg, couple_history, gap_chart_svg, instruments_with_scores
from assessments.models import (
    Alert,
    AlertStatus,
    Assignment,
    AssignmentStatus,
    Occurrence,
    Response,
    ResponseState,
)
from assessments.services.protocols import timeline
from clients.models import Couple, Partner
from practice.models import Membership
from practice.roles import Can, can

RECENT_OCCURRENCES = 4


def assignment_rows(couple: Couple, partners: list[Partner]) -> list[dict[str, Any]]:
    """Each assignment with its recent occurrences and who has answered them."""
    assignments = (
        Assignment.objects.filter(couple=couple)
        .select_related("instrument", "partner")
        .prefetch_related(
            Prefetch(
                "occurrences",
                queryset=Occurrence.objects.order_by("-due_date", "-sequence").prefetch_related(
                    Prefetch(
                        "responses",
                        queryset=Response.objects.only(
                            "pk",
                            "uuid",
                            "partner_id",
                            "state",
                            "occurrence_id",
                            "submitted_at",
                            "scoring_error",
                            "scoring_retry_at",
                        ),
                    )
                ),
            )
        )
    )
    rows = []
    for assignment in assignments:
        occurrences = []
        for occurrence in list(assignment.occurrences.all())[:RECENT_OCCURRENCES]:
            by_partner = {r.partner_id: r for r in occurrence.responses.all()}
            targets = [p for p in partners if assignment.partner_id in (None, p.pk)]
            occurrences.append(
                {
                    "occurrence": occurrence,
                    "partners": [(p, by_partner.get(p.pk)) for p in targets],
                }
            )
        rows.append({"assignment": assignment, "occurrences": occurrences})
    return rows


def next_due(couple: Couple) -> date | None:
    """When the couple next has a form to answer: the earliest open form (even if
    overdue), else the next one an active series will create."""
    open_due = (
        Occurrence.objects.filter(couple=couple, cancelled=False, submitted__lt=F("expected"))
        .order_by("due_date")
        .values_list("due_date", flat=True)
        .first()
    )
    if open_due is not None:
        return open_due
    return Assignment.objects.filter(
        couple=couple, status=AssignmentStatus.ACTIVE, next_due__isnull=False
    ).aggregate(first=Min("next_due"))["first"]


def couple_panels(
    *,
    request: HttpRequest,
    couple: Couple,
    partners: list[Partner],
    membership: Membership,
    tab: str = "results",
) -> dict[str, Any]:
    """The couple page's summary and the open tab's assessment content (registered in
    practice.panels.COUPLE_PAGE).

    Charts are drawn only for the results tab; every tab's header shows the latest
    change per instrument, which needs the histories but not their pictures.
    """
    context: dict[str, Any] = {"next_due": next_due(couple)}
    if tab == "forms":
        context["assignments"] = assignment_rows(couple, partners)
        today = timezone.localdate()
        context["timeline"] = timeline(couple, today)
        context["today"] = today
    if not can(membership, Can.VIEW_CLINICAL):
        return context
    histories = []
    language = get_language()
    for instrument in instruments_with_scores(couple):
        history = couple_history(couple, partners, instrument)
        if not history.has_data:
            continue
        entry: dict[str, Any] = {"history": history, "latest_at": _latest_at(history)}
        if tab == "results":
            entry["svg"] = chart_svg(history, language)
            entry["gap_svg"] = gap_chart_svg(history, language)
        histories.append(entry)
    context["histories"] = histories
    context["scoring_failures"] = (
        Response.objects.filter(couple=couple, state=ResponseState.SUBMITTED, scored_at=None)
        .exclude(scoring_error="")
        .count()
    )
    context["alerts"] = explain(
        Alert.objects.filter(couple=couple)
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("partner", "couple", "response__occurrence", "occurrence"),
        get_language(),
    )
    return context


def _latest_at(history: Any) -> Any:
    """When the newest score on this instrument came in."""
    return max(change.points[-1].at for change in history.changes if change.points)
