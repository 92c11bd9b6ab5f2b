"""The caseload: one row per couple with progress, scores, alerts and the next due date.

A row reads the couple's caseload summary (kept current by assessments/summary.py
in the transaction of every event that changes it), so the page costs the same
number of queries, and about the same time, for 5 couples or 3,000, however long
their history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    DateField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clients.access import couples_for
from clients.models import Couple, CoupleStatus, Partner
from practice.models import Membership, User
from practice.roles import Can, can

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
# What an empty sort value stands in for (it sorts last whatever the direction).
NEUTRAL = {
    "label": Value(""),
    "partners": Value(""),
    "clinician": Value(""),
    "progress": Value(PROGRESS_NONE),
    "connection": Value(0.0, output_field=FloatField()),
    "alerts": Value(99),
    "due": Value(date.min, output_field=DateField()),
    "status": Value(""),
}


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


def _dates(value: Any) -> list[date]:
    return [date.fromisoformat(d) for d in value or []]


@dataclass(frozen=True)
class PartnerForms:
    """Where one partner stands with the forms meant for them."""

    overdue: int
    due: int  # due on or before today, overdue included
    coming: date | None  # the soonest form already in the portal but due later
    done: int

    @classmethod
    def on(cls, stored: dict[str, Any], today: date) -> PartnerForms:
        """From a summary row's entry for the partner, as of ``today``."""
        open_dues = _dates(stored.get("open"))
        later = [d for d in open_dues if d > today]
        return cls(
            overdue=sum(d < today for d in open_dues),
            due=sum(d <= today for d in open_dues),
            coming=min(later) if later else None,
            done=int(stored.get("done", 0)),
        )

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


def partner_forms(couple: Couple, today: date | None = None) -> list[PartnerForms]:
    """Each partner's forms, from the couple's summary row, in partner order."""
    stored = list(getattr(couple, "forms_by_partner", None) or [])
    when = today or couple.as_of  # type: ignore[attr-defined]  # annotated by caseload()
    partners = len(couple.partners.all())
    stored += [{}] * (partners - len(stored))
    return [PartnerForms.on(entry, when) for entry in stored[:partners]]


def _summary(field: str, default: Any = None) -> Any:
    """A column of the couple's summary row (absent until its first event: the default)."""
    if default is None:
        return F(f"summary__{field}")
    return Coalesce(F(f"summary__{field}"), Value(default))


def caseload(
    membership: Membership,
    filters: Filters,
    today: date,
    couples: QuerySet[Couple] | None = None,
) -> QuerySet[Couple]:
    """The couples this member may see, filtered, annotated and sorted.

    Everything a row shows about forms, scores and alerts comes from the couple's
    caseload summary (assessments/summary.py), one joined row per couple, so the
    cost of a page does not grow with the couples' history. ``couples`` narrows
    the starting set (e.g. one couple just changed); by default it is every couple
    the member may see.
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

    couples = couples.annotate(
        as_of=Value(today, output_field=DateField()),
        next_due=F("summary__next_due"),
        forms_by_partner=F("summary__partner_forms"),
        progress=Case(
            When(summary__open_first_due__lt=today, then=Value(PROGRESS_OVERDUE)),
            When(summary__untouched_first_due__lte=today, then=Value(PROGRESS_NOT_STARTED)),
            When(summary__open_first_due__lte=today, then=Value(PROGRESS_PARTIAL)),
            When(summary__done_forms__gt=0, then=Value(PROGRESS_DONE)),
            When(summary__open_last_due__gt=today, then=Value(PROGRESS_NOT_DUE)),
            default=Value(PROGRESS_NONE),
            output_field=IntegerField(),
        ),
    )
    if clinical:
        couples = couples.annotate(
            one_latest=F("summary__one_latest"),
            one_previous=F("summary__one_previous"),
            two_latest=F("summary__two_latest"),
            two_previous=F("summary__two_previous"),
            connection_mean=F("summary__connection_mean"),
            alert_count=_summary("alert_count", 0),
            top_severity=F("summary__top_severity"),
            alert_rank=_summary("alert_rank", 99),
        )
    if filters.attention:
        condition = Q(summary__open_first_due__lt=today)
        if clinical:
            condition |= Q(summary__alert_count__gt=0)
        couples = couples.filter(condition)

    sort = effective_sort(filters, clinical)
    key = SORTS[sort]
    # Sort keys that are nothing but sort keys: computed only when the list is sorted by them.
    if sort == "partners":
        couples = couples.annotate(
            partner_one_name=Subquery(
                Partner.objects.filter(couple=OuterRef("pk"), position=1).values("display_name")[:1]
            )
        )
    elif sort == "clinician":
        couples = couples.annotate(
            first_clinician=Subquery(
                User.objects.filter(couples=OuterRef("pk"))
                .order_by("full_name")
                .values("full_name")[:1]
            )
        )
    couples = couples.annotate(
        # Keyset paging needs sort keys without NULLs: empty values go last either way.
        sort_missing=Case(
            When(**{f"{key}__isnull": True}, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
        sort_value=Coalesce(F(key), NEUTRAL[sort]),
    )
    return couples.order_by(*ordering(filters, clinical)).prefetch_related(
        Prefetch("partners", queryset=Partner.objects.order_by("position")),
        "clinicians",
    )


def effective_sort(filters: Filters, clinical: bool) -> str:
    """The sort asked for, unless it would order by clinical data the member may not see."""
    return filters.sort if (clinical or filters.sort not in CLINICAL_SORTS) else "label"


def ordering(filters: Filters, clinical: bool) -> list[str]:
    """The total order of ``caseload()``, for keyset paging (practice/keyset.py)."""
    value = "-sort_value" if filters.descending else "sort_value"
    return ["sort_missing", value, "label", "id"]


def trend(latest: float | None, previous: float | None) -> str:
    """up, down, flat, or '' when there is nothing to compare."""
    if latest is None or previous is None:
        return ""
    if latest > previous:
        return "up"
    if latest < previous:
        return "down"
    return "flat"
