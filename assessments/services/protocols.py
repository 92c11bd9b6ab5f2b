"""Protocols: a practice's named bundles of forms on a schedule, applied to couples.

Applying a protocol assigns each of its steps through the ordinary assignment
service (so validation, the first occurrence and the audit trail are the same as
assigning by hand), records one ``ProtocolApplication`` per couple, and is
idempotent: the same protocol, couple and start date apply once, however often
the form is submitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assessments.models import (
    Assignment,
    AssignmentStatus,
    Occurrence,
    Protocol,
    ProtocolApplication,
    RepeatUnit,
    repeat_label,
)
from assessments.services import assignments as assignment_services
from assessments.services.instruments import latest_published
from clients.models import Couple
from practice import audit
from practice.models import User

UNITS: dict[str, int] = {RepeatUnit.DAYS: 1, RepeatUnit.WEEKS: 7}


def _days(n: int, unit: str) -> timedelta:
    return timedelta(days=n * UNITS.get(unit, 7))


def step_label(step: dict[str, Any], title: str) -> str:
    """One step in words: "Connection Pulse: after 1 week, every week, 12 times"."""
    parts = [title]
    start = int(step.get("start_after") or 0)
    if start == 0:
        parts.append(_("at the start"))
    elif step.get("start_unit") == RepeatUnit.DAYS:
        parts.append(ngettext("after %(n)d day", "after %(n)d days", start) % {"n": start})
    else:
        parts.append(ngettext("after %(n)d week", "after %(n)d weeks", start) % {"n": start})
    if step.get("every"):
        count = int(step["count"])
        parts.append(repeat_label(int(step["every"]), step.get("unit", RepeatUnit.WEEKS)))
        parts.append(ngettext("%(n)d time", "%(n)d times", count) % {"n": count})
    else:
        parts.append(_("once"))
    return ", ".join(parts)


@dataclass
class Outcome:
    """What applying a protocol did, couple by couple."""

    applied: list[Couple] = field(default_factory=list)
    already: list[Couple] = field(default_factory=list)
    refused: list[tuple[Couple, str]] = field(default_factory=list)


def apply(
    protocol: Protocol,
    couples: list[Couple],
    *,
    start: date,
    actor: User,
    request: HttpRequest | None = None,
) -> Outcome:
    """Apply a protocol to each couple, each in its own transaction.

    A couple that cannot take it (a closed case, a form no longer published)
    is refused with the reason and the others go ahead.
    """
    outcome = Outcome()
    for couple in couples:
        if ProtocolApplication.objects.filter(
            protocol=protocol, couple=couple, start=start
        ).exists():
            outcome.already.append(couple)
            continue
        try:
            _apply_one(protocol, couple, start=start, actor=actor, request=request)
        except IntegrityError:
            # The same submission arrived twice at once; the other one applied it.
            outcome.already.append(couple)
        except ValidationError as exc:
            outcome.refused.append((couple, exc.messages[0]))
        else:
            outcome.applied.append(couple)
    return outcome


@transaction.atomic
def _apply_one(
    protocol: Protocol,
    couple: Couple,
    *,
    start: date,
    actor: User,
    request: HttpRequest | None,
) -> ProtocolApplication:
    application = ProtocolApplication.objects.create(
        practice=couple.practice, protocol=protocol, couple=couple, start=start, created_by=actor
    )
    for step in protocol.steps:
        instrument = latest_published(step["instrument"])
        if instrument is None:
            raise ValidationError(
                _("The form %(key)s is no longer published; change the protocol.")
                % {"key": step["instrument"]}
            )
        recurrence = None
        if step.get("every"):
            recurrence = assignment_services.Recurrence(
                every=int(step["every"]),
                unit=step.get("unit") or RepeatUnit.WEEKS,
                count=int(step["count"]),
            )
        assignment = assignment_services.assign(
            couple=couple,
            instrument=instrument,
            actor=actor,
            first_due=start + _days(int(step.get("start_after") or 0), step.get("start_unit", "")),
            recurrence=recurrence,
            request=request,
        )
        assignment.protocol_application = application
        assignment.save(update_fields=["protocol_application"])
    audit.record(
        "protocol.apply",
        request=request,
        actor=actor,
        target=couple,
        protocol=str(protocol.uuid),
        application=str(application.uuid),
        start=start.isoformat(),
    )
    return application


@dataclass(frozen=True)
class TimelineEntry:
    due: date
    title: str
    done: bool
    overdue: bool
    protocol: str


def timeline(
    couple: Couple, today: date, *, horizon_days: int = 120, past_days: int = 28
) -> list[TimelineEntry]:
    """The couple's schedule: the last few weeks' forms, any still unanswered, and those
    still to come.

    Coming dates are worked out from each active assignment's rule, up to the
    horizon, so a protocol shows its whole shape before anything opens. Older
    answered forms are left to the results and history (a long course would
    otherwise push the future off the screen).
    """
    entries: list[TimelineEntry] = []
    end = today + timedelta(days=horizon_days)
    recent_or_waiting = Q(due_date__gte=today - timedelta(days=past_days)) | Q(
        submitted__lt=F("expected")
    )
    occurrences = (
        Occurrence.objects.filter(couple=couple, cancelled=False, due_date__lte=end)
        .filter(recent_or_waiting)
        .select_related("instrument", "assignment__protocol_application__protocol")
        .order_by("due_date")
    )
    for occurrence in occurrences:
        application = occurrence.assignment.protocol_application
        entries.append(
            TimelineEntry(
                due=occurrence.due_date,
                title=occurrence.instrument.title,
                done=occurrence.is_complete,
                overdue=occurrence.is_overdue(today),
                protocol=application.protocol.name if application else "",
            )
        )
    active = Assignment.objects.filter(
        couple=couple, status=AssignmentStatus.ACTIVE, next_due__isnull=False
    ).select_related("instrument", "protocol_application__protocol")
    for assignment in active:
        application = assignment.protocol_application
        sequence = assignment.occurrences.count() + 1
        due: date | None = assignment.next_due
        while due is not None and due <= end:
            entries.append(
                TimelineEntry(
                    due=due,
                    title=assignment.instrument.title,
                    done=False,
                    overdue=False,
                    protocol=application.protocol.name if application else "",
                )
            )
            due = assignment_services.following_due(assignment, due, sequence)
            sequence += 1
    entries.sort(key=lambda e: (e.due, e.title))
    return entries
