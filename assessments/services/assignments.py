"""Assigning instruments to couples, their recurrences, and the reminders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments import summary
from assessments.models import (
    Assignment,
    AssignmentStatus,
    Instrument,
    InstrumentStatus,
    Occurrence,
    RepeatUnit,
    Response,
    ResponseState,
)
from clients.models import AccessLinkPurpose, Couple, CoupleStatus, Partner, PortalState
from clients.services import new_access_link, portal_url
from practice import audit, batches, mail
from practice.models import Practice, User

log = logging.getLogger(__name__)

# A recurring occurrence opens this many days before it is due.
OPEN_BEFORE_DUE = timedelta(days=2)
# Reminders: the day before the due date, then every few days while overdue, a few times.
OVERDUE_REMINDER_EVERY = timedelta(days=3)
MAX_OVERDUE_REMINDERS = 3
REMINDER_LINK_LIFETIME = timedelta(days=3)


@dataclass(frozen=True)
class Recurrence:
    every: int
    unit: str  # RepeatUnit
    until: date | None = None
    count: int | None = None

    def step(self) -> timedelta:
        return timedelta(days=self.every * (7 if self.unit == RepeatUnit.WEEKS else 1))


def _validate(
    couple: Couple,
    instrument: Instrument,
    partner: Partner | None,
    first_due: date,
    recurrence: Recurrence | None,
) -> None:
    errors: dict[str, str] = {}
    if couple.is_closed:
        errors["couple"] = _("This couple's case is closed. Reopen it before assigning forms.")
    if instrument.status != InstrumentStatus.PUBLISHED:
        errors["instrument"] = _("Only published instruments can be assigned.")
    if partner is not None and partner.couple_id != couple.pk:
        errors["partner"] = _("That person is not a partner in this couple.")
    if first_due < timezone.localdate() - timedelta(days=1):
        errors["first_due"] = _("The first due date cannot be in the past.")
    if recurrence is not None:
        if recurrence.every < 1:
            errors["repeat_every"] = _("Repeat at least every 1 day or week.")
        if recurrence.until is not None and recurrence.until < first_due:
            errors["repeat_until"] = _("The end date is before the first due date.")
        if recurrence.count is not None and recurrence.count < 2:
            errors["repeat_count"] = _("A repeating form happens at least twice.")
        if recurrence.until is None and recurrence.count is None:
            errors["repeat_until"] = _("Say when the repeats end: a date or a number of times.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def assign(
    *,
    couple: Couple,
    instrument: Instrument,
    actor: User,
    first_due: date,
    partner: Partner | None = None,
    recurrence: Recurrence | None = None,
    reminders: bool = True,
    request: HttpRequest | None = None,
) -> Assignment:
    """Assign an instrument to both partners (or one); the first occurrence opens at once."""
    _validate(couple, instrument, partner, first_due, recurrence)
    assignment = Assignment.objects.create(
        practice=couple.practice,
        couple=couple,
        instrument=instrument,
        partner=partner,
        first_due=first_due,
        repeat_every=recurrence.every if recurrence else None,
        repeat_unit=recurrence.unit if recurrence else "",
        repeat_until=recurrence.until if recurrence else None,
        repeat_count=recurrence.count if recurrence else None,
        reminders=reminders,
        created_by=actor,
    )
    _open_occurrence(assignment, sequence=1, due=first_due)
    audit.record(
        "assignment.create",
        request=request,
        actor=actor,
        target=assignment,
        couple=str(couple.uuid),
        instrument=f"{instrument.key}@{instrument.version}",
        recurring=recurrence is not None,
    )
    return assignment


def following_due(assignment: Assignment, due: date, sequence: int) -> date | None:
    """The due date after ``due`` (occurrence ``sequence``), or None when the series ends."""
    if not assignment.is_recurring:
        return None
    recurrence = Recurrence(
        assignment.repeat_every or 1,
        assignment.repeat_unit,
        assignment.repeat_until,
        assignment.repeat_count,
    )
    following = due + recurrence.step()
    if recurrence.count is not None and sequence >= recurrence.count:
        return None
    if recurrence.until is not None and following > recurrence.until:
        return None
    return following


def _to_open(
    assignment: Assignment, due: date, sequence: int, today: date
) -> tuple[date, int] | None:
    """The due date and sequence of the occurrence to open today, if one has come due.

    ``due`` is the assignment's next due date. Dates that passed while nothing ran
    are skipped: only the latest one opens.
    """
    while due + OPEN_BEFORE_DUE < today:
        following = following_due(assignment, due, sequence)
        if following is None or following > today + OPEN_BEFORE_DUE:
            break
        due = following
        sequence += 1
    if due > today + OPEN_BEFORE_DUE:
        return None
    return due, sequence


def _occurrence_row(assignment: Assignment, *, sequence: int, due: date) -> Occurrence:
    """An unsaved occurrence, from the assignment's ids only (no related row is read)."""
    return Occurrence(
        practice_id=assignment.practice_id,
        assignment=assignment,
        couple_id=assignment.couple_id,
        instrument_id=assignment.instrument_id,
        sequence=sequence,
        due_date=due,
        expected=1 if assignment.partner_id else 2,
    )


def _open_occurrence(assignment: Assignment, *, sequence: int, due: date) -> Occurrence:
    occurrence = Occurrence.objects.create(
        practice=assignment.practice,
        assignment=assignment,
        couple=assignment.couple,
        instrument=assignment.instrument,
        sequence=sequence,
        due_date=due,
        expected=1 if assignment.partner_id else 2,
    )
    assignment.next_due = following_due(assignment, due, sequence)
    # The last form has just opened: the assignment is finished only once it closes.
    assignment.save(update_fields=["next_due"])
    summary.refresh_couple(assignment.couple_id)
    return occurrence


def settle(assignment_id: int) -> None:
    """Finished means no form is to come and the last one is closed (answered by every
    partner it was for, or cancelled).

    Called whenever one of its forms closes or opens again (a submission reopened), so
    the status always says which it is. Earlier forms left unanswered do not hold a
    series open: they stay overdue on their own.
    """
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    if assignment.next_due is not None:
        return  # more forms to come
    last = assignment.occurrences.order_by("-sequence").first()
    still_open = last is not None and not last.cancelled and not last.is_complete
    if not still_open and assignment.status in {AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED}:
        assignment.status = AssignmentStatus.FINISHED
    elif (
        still_open
        and assignment.status == AssignmentStatus.FINISHED
        and not assignment.couple.is_closed
    ):
        assignment.status = AssignmentStatus.ACTIVE
    else:
        return
    assignment.save(update_fields=["status"])
    summary.refresh_couple(assignment.couple_id)
    audit.record(f"assignment.{assignment.status}", target=assignment, automatic=True)


def create_due_occurrences(today: date, batch: int = batches.BATCH) -> int:
    """Open the next occurrence of every recurring assignment that has come due (beat).

    If beat was down for a while, missed dates are skipped: one occurrence
    opens, for the latest date that has come due, so nobody gets a pile.
    Practice by practice, a batch of assignments per transaction.
    """
    created = 0
    for _practice, ids in batches.practice_batches(lambda: _due_assignments(today), batch):
        created += _advance_batch(ids, today)
    return created


def _due_assignments(today: date) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        status=AssignmentStatus.ACTIVE,
        next_due__isnull=False,
        next_due__lte=today + OPEN_BEFORE_DUE,
    )


@transaction.atomic
def _advance_batch(ids: list[int], today: date) -> int:
    """``_advance`` for a batch of assignments: their rows locked, one summary refresh."""
    assignments = list(
        Assignment.objects.select_for_update(of=("self",))
        .select_related("couple")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    last_sequence = dict(
        Occurrence.objects.filter(assignment_id__in=ids)
        .order_by()
        .values("assignment_id")
        .annotate(m=Max("sequence"))
        .values_list("assignment_id", "m")
    )
    finished, advanced, opening = [], [], []
    for assignment in assignments:
        if assignment.status != AssignmentStatus.ACTIVE or assignment.next_due is None:
            continue
        if assignment.couple.is_closed:
            assignment.status = AssignmentStatus.FINISHED
            assignment.next_due = None
            finished.append(assignment)
            continue
        sequence = (last_sequence.get(assignment.pk) or 0) + 1
        found = _to_open(assignment, assignment.next_due, sequence, today)
        if found is None:
            continue
        due, sequence = found
        opening.append(_occurrence_row(assignment, sequence=sequence, due=due))
        assignment.next_due = following_due(assignment, due, sequence)
        advanced.append(assignment)
    try:
        with transaction.atomic():
            Occurrence.objects.bulk_create(opening)
            Assignment.objects.bulk_update(advanced, ["next_due"])
    except IntegrityError:
        # Another beat run opened one of these first: one at a time, as it was.
        return sum(_advance(assignment.pk, today) for assignment in advanced)
    finally:
        Assignment.objects.bulk_update(finished, ["status", "next_due"])
        summary.refresh({a.couple_id for a in finished + advanced})
    return len(opening)


@transaction.atomic
def _advance(assignment_pk: int, today: date) -> int:
    assignment = Assignment.objects.select_for_update().get(pk=assignment_pk)
    if assignment.status != AssignmentStatus.ACTIVE or assignment.next_due is None:
        return 0
    if assignment.couple.is_closed:
        assignment.status = AssignmentStatus.FINISHED
        assignment.next_due = None
        assignment.save(update_fields=["status", "next_due"])
        summary.refresh_couple(assignment.couple_id)
        return 0
    sequence = (assignment.occurrences.aggregate(m=Max("sequence"))["m"] or 0) + 1
    found = _to_open(assignment, assignment.next_due, sequence, today)
    if found is None:
        return 0
    due, sequence = found
    try:
        with transaction.atomic():
            _open_occurrence(assignment, sequence=sequence, due=due)
    except IntegrityError:
        return 0  # another beat run got there first
    return 1


@transaction.atomic
def set_status(
    assignment: Assignment, status: str, *, actor: User, request: HttpRequest | None = None
) -> Assignment:
    """Pause, resume or cancel an assignment."""
    allowed = {
        AssignmentStatus.PAUSED: {AssignmentStatus.ACTIVE},
        AssignmentStatus.ACTIVE: {AssignmentStatus.PAUSED},
        AssignmentStatus.CANCELLED: {AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED},
    }
    if assignment.status not in allowed.get(status, set()):  # type: ignore[call-overload]
        raise ValidationError(_("This assignment cannot change that way now."))
    if status == AssignmentStatus.ACTIVE and assignment.couple.is_closed:
        raise ValidationError(_("This couple's case is closed. Reopen it before resuming forms."))
    assignment.status = status
    assignment.save(update_fields=["status"])
    if status == AssignmentStatus.CANCELLED:
        # Open forms nobody has submitted disappear from the portal.
        assignment.occurrences.filter(submitted=0, cancelled=False).update(cancelled=True)
    summary.refresh_couple(assignment.couple_id)
    audit.record(f"assignment.{status}", request=request, actor=actor, target=assignment)
    return assignment


def send_reminders(today: date, batch: int = batches.BATCH) -> int:
    """Email partners whose forms are due tomorrow or overdue (beat). Returns emails sent.

    Practice by practice, a batch of forms at a time, and within a batch
    ``SEND_CHUNK`` forms at a time: a chunk is claimed (marked reminded today) and
    its links made in one transaction, and its emails go once that has committed.
    Reminders are sent at most once a day, so a worker killed between a claim and
    its emails loses at most one chunk's reminders for that day, never repeats one.
    """
    sent = 0
    for practice, ids in batches.practice_batches(lambda: _reminder_candidates(today), batch):
        for start in range(0, len(ids), SEND_CHUNK):
            for occurrence, links in _claim_reminders(ids[start : start + SEND_CHUNK], today):
                sent += _send_reminder(practice, occurrence, links, today)
    return sent


# Forms claimed per transaction before their emails go: the most a crash mid-run can
# leave unsent for the day.
SEND_CHUNK = 25


def _reminder_candidates(today: date) -> QuerySet[Occurrence]:
    return Occurrence.objects.filter(
        cancelled=False,
        submitted__lt=F("expected"),
        assignment__reminders=True,
        assignment__status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.FINISHED],
        couple__status=CoupleStatus.ACTIVE,
        due_date__lte=today + timedelta(days=1),
    ).exclude(last_reminded_on=today)


def _reminder_due(occurrence: Occurrence, today: date) -> bool:
    if occurrence.due_date == today + timedelta(days=1):
        return occurrence.last_reminded_on is None
    if occurrence.due_date < today:
        overdue_days = (today - occurrence.due_date).days
        step = OVERDUE_REMINDER_EVERY.days
        return overdue_days % step == 0 and overdue_days // step <= MAX_OVERDUE_REMINDERS
    return False


@transaction.atomic
def _claim_reminders(
    ids: list[int], today: date
) -> list[tuple[Occurrence, list[tuple[Partner, str]]]]:
    """Mark the batch's due forms reminded today and make each waiting partner's link.

    The rows are locked first, so a concurrent run waits and then finds them
    already reminded today.
    """
    claimed = [
        occurrence
        for occurrence in _reminder_candidates(today)
        .filter(pk__in=ids)
        .select_for_update(of=("self",))
        .select_related("assignment", "instrument")
        .order_by("pk")
        if _reminder_due(occurrence, today)
    ]
    if not claimed:
        return []
    Occurrence.objects.filter(pk__in=[o.pk for o in claimed]).update(last_reminded_on=today)
    submitted = set(
        Response.objects.filter(occurrence__in=claimed, state=ResponseState.SUBMITTED).values_list(
            "occurrence_id", "partner_id"
        )
    )
    partners: dict[int, list[Partner]] = {}
    for partner in Partner.objects.filter(couple_id__in={o.couple_id for o in claimed}):
        partners.setdefault(partner.couple_id, []).append(partner)
    reminders = []
    for occurrence in claimed:
        waiting = [
            p
            for p in partners.get(occurrence.couple_id, [])
            if (occurrence.assignment.partner_id in (None, p.pk))
            and (occurrence.pk, p.pk) not in submitted
            and p.portal_state in {PortalState.INVITED, PortalState.ACTIVE}
        ]
        links = [
            (p, new_access_link(p, AccessLinkPurpose.REMINDER, REMINDER_LINK_LIFETIME)[1])
            for p in waiting
        ]
        reminders.append((occurrence, links))
    return reminders


def _send_reminder(
    practice: Practice, occurrence: Occurrence, links: list[tuple[Partner, str]], today: date
) -> int:
    sent = 0
    for partner, token in links:
        try:
            mail.send(
                to=partner.email,
                template="assessments/email/reminder",
                context={
                    "partner": partner,
                    "url": portal_url(token),
                    "due_date": occurrence.due_date,
                    "overdue": occurrence.due_date < today,
                    "minutes": occurrence.instrument.estimated_minutes,
                },
                language=partner.language,
                practice=practice,
            )
            sent += 1
        except Exception as exc:  # one bad address must not stop the others
            log.warning("reminder to partner %s failed: %s", partner.uuid, type(exc).__name__)
    return sent


def finish_for_closed_couple(sender: type, couple: Couple, **kwargs: object) -> None:
    """A closed case's unanswered occurrences are cancelled and its open assignments
    finished (receives ``clients.signals.couple_closed``, inside the closing transaction)."""
    Occurrence.objects.filter(couple=couple, cancelled=False, submitted__lt=F("expected")).update(
        cancelled=True
    )
    Assignment.objects.filter(
        couple=couple, status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED]
    ).update(status=AssignmentStatus.FINISHED, next_due=None)
