"""Demo couples with months of answers: improving, stable and worsening couples, one couple
that disagrees, one moving apart, one safety alert, overdue and unstarted forms. Fictional
people throughout.

Answers are simulated from a per-partner level that moves over time, with
seeded noise, so every run builds the same practice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from assessments import summary
from assessments.models import (
    Alert,
    AlertStatus,
    Assignment,
    AssignmentStatus,
    Instrument,
    Occurrence,
    Response,
    ResponseState,
)
from assessments.services import alerts, change, scoring
from assessments.services.instruments import latest_published
from clients.models import Couple, CoupleStatus, Partner, PortalState
from practice.models import Practice, User
from reports.models import Report, ReportKind
from reports.services import generate

HISTORY_DAYS = 182
PULSE_EVERY = 14


@dataclass
class Person:
    name: str
    start: float  # level 0..1 at the start of the history
    end: float  # level 0..1 today
    safety_yes: tuple[str, ...] = ()

    def level(self, fraction: float) -> float:
        return self.start + (self.end - self.start) * fraction


@dataclass
class CoupleSpec:
    label: str
    one: Person
    two: Person
    clinician: str  # local part of the clinician's demo email
    status: str = CoupleStatus.ACTIVE
    history: bool = True
    portal: str = PortalState.ACTIVE
    overdue: bool = False
    half_done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


COUPLES = [
    CoupleSpec(
        "Alder & Brook",
        Person("Robin Alder", 0.30, 0.72),
        Person("Sam Brook", 0.35, 0.70),
        "clinician",
    ),
    CoupleSpec(
        "Fairweather",
        Person("Juniper Fairweather", 0.78, 0.80),
        Person("Rowan Fairweather", 0.74, 0.77),
        "clinician",
    ),
    CoupleSpec(
        "Quillfeather & Hart",
        Person("Perry Quillfeather", 0.70, 0.30),
        Person("Dana Hart", 0.66, 0.36),
        "clinician",
    ),
    CoupleSpec(
        "Marlowe",
        Person("Ellis Marlowe", 0.82, 0.80),
        Person("Kit Marlowe", 0.22, 0.25),
        "clinician",
    ),
    CoupleSpec(
        "Pennyworth & Vale",
        Person("Avery Pennyworth", 0.45, 0.42, safety_yes=("ss01", "ss04")),
        Person("Morgan Vale", 0.60, 0.58),
        "clinician",
    ),
    CoupleSpec(
        "Thistlewood",
        Person("Harper Thistlewood", 0.18, 0.70),
        Person("Quinn Thistlewood", 0.22, 0.66),
        "clinician2",
    ),
    CoupleSpec(
        "Larkspur & Moss",
        Person("Reese Larkspur", 0.55, 0.57),
        Person("Blair Moss", 0.52, 0.55),
        "clinician2",
    ),
    CoupleSpec(
        "Kestrel",
        Person("Jordan Kestrel", 0.5, 0.5),
        Person("Casey Kestrel", 0.5, 0.5),
        "clinician",
        history=False,
        portal=PortalState.INVITED,
    ),
    CoupleSpec(
        "Ashgrove & Finch",
        Person("Toby Ashgrove", 0.48, 0.60),
        Person("Lane Finch", 0.50, 0.58),
        "clinician",
        half_done=True,
    ),
    CoupleSpec(
        "Brightwater",
        Person("Sasha Brightwater", 0.40, 0.45),
        Person("Noel Brightwater", 0.44, 0.41),
        "clinician2",
        overdue=True,
    ),
    CoupleSpec(
        "Copperfield & Reed",
        Person("Arden Copperfield", 0.50, 0.52),
        Person("Skyler Reed", 0.47, 0.50),
        "clinician2",
        status=CoupleStatus.PAUSED,
    ),
    CoupleSpec(
        "Holloway",
        Person("Emery Holloway", 0.35, 0.62),
        Person("Remy Holloway", 0.40, 0.60),
        "clinician",
        status=CoupleStatus.CLOSED,
    ),
    CoupleSpec(
        "Wrenfield & Oakes",
        Person("Marin Wrenfield", 0.62, 0.66),
        Person("Tatum Oakes", 0.58, 0.63),
        "clinician2",
    ),
    CoupleSpec(
        "Sorrel", Person("Jesse Sorrel", 0.38, 0.55), Person("Drew Sorrel", 0.42, 0.52), "clinician"
    ),
    # Moving apart: one partner reliably better, the other reliably worse (a split alert).
    CoupleSpec(
        "Mapleton & Cross",
        Person("Rory Mapleton", 0.45, 0.78),
        Person("Ash Cross", 0.66, 0.36),
        "clinician2",
    ),
    CoupleSpec(
        "Birchall",
        Person("Logan Birchall", 0.28, 0.48),
        Person("Frankie Birchall", 0.30, 0.45),
        "clinician",
    ),
]


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.test"


def _answer(rng: random.Random, item: dict[str, Any], values: list[float], level: float) -> float:
    """An answer near the level (0 = worst, 1 = best) on this item's options."""
    low, high = min(values), max(values)
    noise = 0.06 if item["type"] == "rating" else 0.11
    wanted = low + (high - low) * min(1.0, max(0.0, level + rng.gauss(0, noise)))
    if item.get("reverse"):
        wanted = low + high - wanted
    return min(values, key=lambda v: abs(v - wanted))


def simulate(
    instrument: Instrument, person: Person, fraction: float, rng: random.Random
) -> dict[str, Any]:
    """A full set of answers for one administration."""
    from assessments.definition import item_options

    answers: dict[str, Any] = {}
    for item in instrument.definition["items"]:
        if item["type"] == "text":
            continue
        if instrument.is_private:
            answers[item["link_id"]] = 1 if item["link_id"] in person.safety_yes else 0
            continue
        values = [o["value"] for o in item_options(instrument.definition, item)]
        answers[item["link_id"]] = _answer(rng, item, values, person.level(fraction))
    return answers


class Builder:
    def __init__(self, practice: Practice, today: date) -> None:
        self.practice = practice
        self.today = today
        self.rng = random.Random(20261125)  # noqa: S311 - demo data, not security
        self.start = today - timedelta(days=HISTORY_DAYS)
        self.instruments = {
            key: latest_published(key)
            for key in (
                "connection-pulse",
                "connection-signs",
                "everyday-bond",
                "elements-of-connection",
                "safety-screen",
            )
        }
        self.staff = {
            u.email.split("@")[0]: u for u in User.objects.filter(memberships__practice=practice)
        }

    def at(self, day: date, hour: int = 19) -> datetime:
        return datetime.combine(day, time(hour, 30), tzinfo=timezone.get_current_timezone())

    def couple(self, spec: CoupleSpec) -> Couple:
        couple = Couple.objects.create(
            practice=self.practice,
            label=spec.label,
            status=spec.status,
            start_date=self.start if spec.history else self.today - timedelta(days=3),
        )
        couple.clinicians.set([self.staff[spec.clinician]])
        for position, person in enumerate((spec.one, spec.two), start=1):
            Partner.objects.create(
                practice=self.practice,
                couple=couple,
                position=position,
                display_name=person.name,
                email=_email(person.name),
                language="es" if person.name in {"Kit Marlowe", "Lane Finch"} else "en",
                portal_state=spec.portal,
            )
        return couple

    def assignment(
        self, couple: Couple, key: str, first: date, every: int | None, count: int | None
    ) -> Assignment:
        instrument = self.instruments[key]
        return Assignment.objects.create(  # type: ignore[misc]
            practice=self.practice,
            couple=couple,
            instrument=instrument,
            first_due=first,
            repeat_every=every,
            repeat_unit="days" if every else "",
            repeat_count=count,
            created_by=couple.clinicians.first(),
            created_at=self.at(first - timedelta(days=2)),
        )

    def occurrence(self, assignment: Assignment, sequence: int, due: date) -> Occurrence:
        return Occurrence.objects.create(
            practice=self.practice,
            assignment=assignment,
            couple=assignment.couple,
            instrument=assignment.instrument,
            sequence=sequence,
            due_date=due,
            expected=2,
            created_at=self.at(due - timedelta(days=2)),
        )

    def answer(
        self, occurrence: Occurrence, partner: Partner, person: Person, day: date
    ) -> Response:
        fraction = (day - self.start).days / HISTORY_DAYS
        when = self.at(day, hour=18 + partner.position)
        response = Response.objects.create(
            practice=self.practice,
            occurrence=occurrence,
            partner=partner,
            couple=occurrence.couple,
            instrument=occurrence.instrument,
            state=ResponseState.SUBMITTED,
            answers=simulate(occurrence.instrument, person, fraction, self.rng),
            language=partner.language,
            started_at=when - timedelta(minutes=6),
            updated_at=when,
            submitted_at=when,
        )
        occurrence.submitted += 1
        occurrence.save(update_fields=["submitted"])
        return response

    def history(self, couple: Couple, spec: CoupleSpec) -> list[Response]:
        partners = list(couple.partners.order_by("position"))
        people = (spec.one, spec.two)
        end = self.today if spec.status != CoupleStatus.CLOSED else self.today - timedelta(days=40)
        plan = [
            ("connection-pulse", PULSE_EVERY),
            ("connection-signs", 30),
            ("everyday-bond", 91),
            ("elements-of-connection", 91),
            ("safety-screen", None),
        ]
        made: list[Response] = []
        for key, every in plan:
            dates = [self.start + timedelta(days=3)]
            while every and dates[-1] + timedelta(days=every) <= end:
                dates.append(dates[-1] + timedelta(days=every))
            assignment = self.assignment(couple, key, dates[0], every, None)
            for sequence, due in enumerate(dates, start=1):
                occurrence = self.occurrence(assignment, sequence, due)
                last = sequence == len(dates) and key == "connection-pulse"
                for partner, person in zip(partners, people, strict=True):
                    if last and spec.overdue:
                        continue
                    if last and spec.half_done and partner.position == 2:
                        continue
                    made.append(
                        self.answer(
                            occurrence, partner, person, due + timedelta(days=partner.position - 1)
                        )
                    )
            if every and spec.status == CoupleStatus.ACTIVE:
                assignment.next_due = dates[-1] + timedelta(days=every)
            else:
                assignment.status = AssignmentStatus.FINISHED
            if spec.status == CoupleStatus.PAUSED:
                assignment.status = AssignmentStatus.PAUSED
            assignment.save()
        return made

    def open_form(self, couple: Couple, key: str, due_in_days: int) -> None:
        """A one-off form due soon, so the portal has something to answer."""
        due = self.today + timedelta(days=due_in_days)
        assignment = self.assignment(couple, key, due, None, None)
        self.occurrence(assignment, 1, due)
        assignment.status = AssignmentStatus.FINISHED
        assignment.save()


def _demo_reports(practice: Practice, couples: dict[str, Couple], today: date) -> None:
    """A few ready reports; the couple version for Alder & Brook is released to the portal."""

    start = today - timedelta(days=HISTORY_DAYS)
    wanted = [
        ("Alder & Brook", ReportKind.CLINICIAN),
        ("Alder & Brook", ReportKind.COUPLE),
        ("Quillfeather & Hart", ReportKind.CLINICIAN),
        ("Thistlewood", ReportKind.CLINICIAN),
    ]
    for label, kind in wanted:
        couple = couples[label]
        report = Report.objects.create(
            practice=practice,
            couple=couple,
            kind=kind,
            period_start=start,
            period_end=today,
            created_by=couple.clinicians.first(),
        )
        generate(report.pk)
        if kind == ReportKind.COUPLE:
            Report.objects.filter(pk=report.pk).update(
                released_at=timezone.now(), released_by=couple.clinicians.first()
            )


def build(practice: Practice, today: date | None = None) -> int:
    """Fill the demo practice with couples and their history. Returns the couple count."""
    today = today or timezone.localdate()
    with scope(practice=practice), transaction.atomic():
        builder = Builder(practice, today)
        responses: list[Response] = []
        couples: dict[str, Couple] = {}
        for spec in COUPLES:
            couple = builder.couple(spec)
            couples[spec.label] = couple
            if spec.history:
                responses.extend(builder.history(couple, spec))
            else:
                builder.open_form(couple, "connection-pulse", 3)
        # Scores first, without norms, so history does not raise a pile of old alerts.
        for response in responses:
            result = response.instrument.plan.score(response.answers)
            scoring.write_scores(scoring.score_rows(response, result))
            Response.objects.filter(pk=response.pk).update(
                scored_at=response.submitted_at, scoring_version=result.version
            )
            if response.instrument.is_private:
                alerts.raise_item_alerts(response)
    change.estimate_norms()
    with scope(practice=practice), transaction.atomic():
        latest: dict[tuple[int, str], Response] = {}
        for response in responses:
            latest[(response.partner_id, response.instrument.key)] = response
        for response in latest.values():
            alerts.after_scoring(response)
        alerts.raise_overdue_alerts(today)
        # A form due soon gives the two demo portal partners something to answer.
        builder.open_form(couples["Alder & Brook"], "everyday-bond", 5)
        _demo_reports(practice, couples, today)
        Alert.objects.filter(kind="disagreement").exclude(
            occurrence__in=Occurrence.objects.filter(due_date__gte=today - timedelta(days=20))
        ).update(
            status=AlertStatus.RESOLVED,
            resolved_at=timezone.now(),
            resolution_note="Discussed in session.",
        )
        # History was written row by row above, past the services: the caseload rows
        # are computed once, at the end, as `manage.py rebuild_summaries` would.
        summary.refresh(c.pk for c in couples.values())
    return len(COUPLES)
