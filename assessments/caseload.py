"""The caseload: one row per couple with progress, scores, alerts and the next due date.

Everything a row shows is computed in the couples query itself (subqueries),
so the page costs the same number of queries for 5 couples or 3,000.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assessments.models import (
    Alert,
    AlertStatus,
    Assignment,
    AssignmentStatus,
    Occurrence,
    Response,
    ResponseState,
    Score,
)
from clients.access import couples_for
from clients.models import Couple, CoupleStatus, Partner
from practice.models import Membership, User
from practice.roles import Can, can

# The headline measure: the one-item connection pulse, asked often.
CONNECTION_KEY = "connection-pulse"

# Progress of the forms open now, in the order "needs attention first". A form is
# open now when it is not cancelled, not complete and due on or before today; one in the
# portal early (due later) is coming, and a repeat that has not opened yet is only the
# next due date. The couple's badge sums it up; each partner's own line (PartnerForms)
# says exactly what is open for them.
(
    PROGRESS_OVERDUE,
    PROGRESS_PARTIAL,
    PROGRESS_NOT_STARTED,
    PROGRESS_DONE,
    PROGRESS_NOT_DUE,
    PROGRESS_NONE,
) = range(6)
PROGRESS_LABELS = {
    PROGRESS_OVERDUE: _("Overdue"),
    PROGRESS_PARTIAL: _("Waiting on one partner"),
    PROGRESS_NOT_STARTED: _("Waiting on both partners"),
    PROGRESS_DONE: _("Up to date"),
    PROGRESS_NOT_DUE: _("Nothing due yet"),
    PROGRESS_NONE: _("No forms assigned"),
}

SORTS = {
    "label": "label",
    "partners": "partner_one_name",
    "clinician": "first_clinician",
    "progress": "progress",
    "connection": "connection_mean",
    "alerts": "alert_rank",
    "due": "next_due",
    "status": "status",
}
CLINICAL_SORTS = {"connection", "alerts"}


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    clinician: str = ""
    attention: bool = False
    sort: str = "label"
    descending: bool = False
    # The order when none is asked for; the page puts urgent alerts first.
    default_sort: str = "label"

    @classmethod
    def from_query(cls, params: Any, default_sort: str = "label") -> Filters:
        sort = params.get("sort") or default_sort
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        status = params.get("status", "")
        clinician = params.get("clinician", "")
        return cls(
            q=params.get("q", "").strip()[:100],
            status=status if status in CoupleStatus.values or status == "all" else "",
            clinician=clinician if _is_uuid(clinician) else "",
            attention=params.get("attention") == "1",
            sort=sort if sort in SORTS else default_sort,
            descending=descending,
            default_sort=default_sort,
        )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError):
        return False
    return True


def _latest_pulse(position: int, offset: int) -> Subquery:
    return Subquery(
        Score.objects.filter(
            couple=OuterRef("pk"),
            partner__position=position,
            instrument_key=CONNECTION_KEY,
            is_total=True,
        )
        .order_by("-submitted_at")
        .values("value")[offset : offset + 1],
        output_field=FloatField(),
    )


def _count(queryset: QuerySet[Any]) -> Coalesce:
    return Coalesce(
        Subquery(
            queryset.order_by().values("couple").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def _partners_with_forms(today: date) -> QuerySet[Partner]:
    """Partners with where they stand on their forms; used as the page's partner prefetch,
    so it runs once for the couples on the page, whatever their number."""
    answered = Response.objects.filter(
        occurrence=OuterRef("pk"), partner=OuterRef(OuterRef("pk")), state=ResponseState.SUBMITTED
    )
    unanswered = (
        Occurrence.objects.filter(couple=OuterRef("couple"), cancelled=False)
        .filter(Q(assignment__partner__isnull=True) | Q(assignment__partner=OuterRef("pk")))
        .exclude(Exists(answered))
    )

    def count(queryset: QuerySet[Any]) -> Coalesce:
        return Coalesce(
            Subquery(
                queryset.order_by().values("couple").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            0,
        )

    return Partner.objects.order_by("position").annotate(
        forms_overdue=count(unanswered.filter(due_date__lt=today)),
        forms_due=count(unanswered.filter(due_date__lte=today)),
        forms_coming=Subquery(
            unanswered.filter(due_date__gt=today)
            .order_by()
            .values("couple")
            .annotate(d=Min("due_date"))
            .values("d")
        ),
        forms_done=count(
            Response.objects.filter(
                partner=OuterRef("pk"),
                state=ResponseState.SUBMITTED,
                occurrence__cancelled=False,
            )
        ),
    )


@dataclass(frozen=True)
class PartnerForms:
    """Where one partner stands with the forms meant for them."""

    overdue: int
    due: int  # due on or before today, overdue included
    coming: date | None  # the soonest form already in the portal but due later
    done: int

    @property
    def label(self) -> str:
        if self.overdue:
            return ngettext("%(n)d overdue", "%(n)d overdue", self.overdue) % {"n": self.overdue}
        if self.due:
            return ngettext("%(n)d due today", "%(n)d due today", self.due) % {"n": self.due}
        if self.coming:
            when = date_format(self.coming, "MONTH_DAY_FORMAT")
            if self.done:
                return _("Up to date; next due %(date)s") % {"date": when}
            return _("Next due %(date)s") % {"date": when}
        return str(_("Up to date")) if self.done else str(_("Nothing assigned"))

    @property
    def tone(self) -> str:
        if self.overdue:
            return "danger"
        if self.due:
            return "warn"
        return "ok" if self.done else ""


def partner_forms(couple: Couple) -> list[PartnerForms]:
    """Each partner's forms, from the caseload's partner prefetch, in partner order."""
    return [
        PartnerForms(
            getattr(partner, "forms_overdue", 0) or 0,
            getattr(partner, "forms_due", 0) or 0,
            getattr(partner, "forms_coming", None),
            getattr(partner, "forms_done", 0) or 0,
        )
        for partner in couple.partners.all()
    ]


def caseload(
    membership: Membership,
    filters: Filters,
    today: date,
    couples: QuerySet[Couple] | None = None,
) -> QuerySet[Couple]:
    """The couples this member may see, filtered, annotated and sorted.

    ``couples`` narrows the starting set (e.g. one couple just changed); by
    default it is every couple the member may see.
    """
    clinical = can(membership, Can.VIEW_CLINICAL)
    couples = couples_for(membership) if couples is None else couples
    if filters.status != "all":
        couples = couples.filter(status=filters.status or CoupleStatus.ACTIVE)
    if filters.q:
        partner_match = Partner.objects.filter(couple=OuterRef("pk")).filter(
            Q(display_name__icontains=filters.q) | Q(email__icontains=filters.q)
        )
        couples = couples.filter(Q(label__icontains=filters.q) | Exists(partner_match))
    if filters.clinician:
        couples = couples.filter(clinicians__uuid=filters.clinician)

    open_occurrences = Occurrence.objects.filter(
        couple=OuterRef("pk"), cancelled=False, submitted__lt=F("expected")
    )
    open_now = open_occurrences.filter(due_date__lte=today)
    couples = couples.annotate(
        overdue=_count(open_occurrences.filter(due_date__lt=today)),
        # A form due now that neither partner has answered, or one that still waits on
        # one of them (one of two answered, or a form meant for one partner alone).
        waiting_both=_count(open_now.filter(expected=2, submitted=0)),
        waiting_one=_count(open_now),
        done_forms=_count(
            Occurrence.objects.filter(couple=OuterRef("pk"), cancelled=False, submitted__gt=0)
        ),
        coming=_count(open_occurrences.filter(due_date__gt=today)),
        next_open=Subquery(
            open_occurrences.order_by().values("couple").annotate(d=Min("due_date")).values("d")
        ),
        # The next form of a repeating assignment that has not opened yet.
        next_scheduled=Subquery(
            Assignment.objects.filter(
                couple=OuterRef("pk"), status=AssignmentStatus.ACTIVE, next_due__isnull=False
            )
            .order_by()
            .values("couple")
            .annotate(d=Min("next_due"))
            .values("d")
        ),
        partner_one_name=Subquery(
            Partner.objects.filter(couple=OuterRef("pk"), position=1).values("display_name")[:1]
        ),
        first_clinician=Subquery(
            User.objects.filter(couples=OuterRef("pk"))
            .order_by("full_name")
            .values("full_name")[:1]
        ),
    ).annotate(
        # The earlier of the two; Least alone is NULL on SQLite when either side is.
        next_due=Least(
            Coalesce("next_open", "next_scheduled"), Coalesce("next_scheduled", "next_open")
        ),
        progress=Case(
            When(overdue__gt=0, then=Value(PROGRESS_OVERDUE)),
            When(waiting_both__gt=0, then=Value(PROGRESS_NOT_STARTED)),
            When(waiting_one__gt=0, then=Value(PROGRESS_PARTIAL)),
            When(done_forms__gt=0, then=Value(PROGRESS_DONE)),
            When(coming__gt=0, then=Value(PROGRESS_NOT_DUE)),
            default=Value(PROGRESS_NONE),
            output_field=IntegerField(),
        ),
    )
    if clinical:
        open_alerts = Alert.objects.filter(couple=OuterRef("pk")).exclude(
            status=AlertStatus.RESOLVED
        )
        couples = couples.annotate(
            one_latest=_latest_pulse(1, 0),
            one_previous=_latest_pulse(1, 1),
            two_latest=_latest_pulse(2, 0),
            two_previous=_latest_pulse(2, 1),
            alert_count=_count(open_alerts),
            top_severity=Subquery(
                open_alerts.order_by("severity").values("severity")[:1],
                output_field=IntegerField(),
            ),
        ).annotate(
            connection_mean=(F("one_latest") + F("two_latest")) / 2.0,
            # Most urgent first when sorting ascending; couples without alerts last.
            alert_rank=Coalesce(F("top_severity"), Value(99)),
        )
    if filters.attention:
        condition = Q(overdue__gt=0)
        if clinical:
            condition |= Q(alert_count__gt=0)
        couples = couples.filter(condition)

    sort = filters.sort if (clinical or filters.sort not in CLINICAL_SORTS) else "label"
    field = F(SORTS[sort])
    order = field.desc(nulls_last=True) if filters.descending else field.asc(nulls_last=True)
    return couples.order_by(order, "label", "pk").prefetch_related(
        Prefetch("partners", queryset=_partners_with_forms(today)),
        "clinicians",
    )


def trend(latest: float | None, previous: float | None) -> str:
    """up, down, flat, or '' when there is nothing to compare."""
    if latest is None or previous is None:
        return ""
    if latest > previous:
        return "up"
    if latest < previous:
        return "down"
    return "flat"
