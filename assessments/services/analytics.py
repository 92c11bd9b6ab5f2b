"""Practice outcome analytics: read the rows, hand them to ``assessments.analytics``.

A fixed number of queries whatever the practice's size (one more per instrument,
for its norms): couples and their clinicians, instruments, total scores,
submitted responses (for the couple composite on shared items), versions, and
forms due. The numbers of every clinician's caseload are computed together,
so that the suppression of small groups (and of groups that would reveal
them) is the same whoever asks and wherever they ask (page, CSV, API).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from assessments import analytics, results
from assessments.analytics import Block
from assessments.models import Instrument, Occurrence, Response, ResponseState, Score
from assessments.services.change import NormsInfo, norms_for
from assessments.services.score_table import newest_instruments
from clients.models import Couple
from practice import csvsafe
from practice.models import Membership, Practice, Role, User

MAX_PERIOD = timedelta(days=5 * 366)


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    clinician: User | None = None  # None: every couple of the practice


@dataclass(frozen=True)
class InstrumentOutcomes:
    instrument: Instrument
    norms: NormsInfo
    outcomes: analytics.Outcomes


def default_period(today: date) -> tuple[date, date]:
    """The twelve months up to today."""
    return today.replace(year=today.year - 1) + timedelta(days=1), today


def validate_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationError({"end": _("The end of the period is before its start.")})
    if end - start > MAX_PERIOD:
        raise ValidationError({"start": _("A period covers at most five years.")})


def clinicians(practice: Practice) -> list[Membership]:
    """Members whose caseload may be picked: owners and clinicians, by name."""
    return list(
        Membership.objects.filter(practice=practice, role__in=[Role.OWNER, Role.CLINICIAN])
        .select_related("user")
        .order_by("user__full_name", "pk")
    )


def _caseloads(practice: Practice) -> tuple[frozenset[int], dict[int, frozenset[int]]]:
    """Every couple of the practice, and each clinician's couples (one query)."""
    everyone: set[int] = set()
    by_clinician: dict[int, set[int]] = defaultdict(set)
    for couple_id, user_id in Couple.objects.filter(practice=practice).values_list(
        "pk", "clinicians"
    ):
        everyone.add(couple_id)
        if user_id is not None:
            by_clinician[user_id].add(couple_id)
    return frozenset(everyone), {k: frozenset(v) for k, v in by_clinician.items()}


def _rows(
    practice: Practice, instruments: dict[str, Instrument], tz: zoneinfo.ZoneInfo
) -> dict[str, analytics.InstrumentRows]:
    keys = list(instruments)
    scores: dict[str, list[analytics.PartnerScore]] = defaultdict(list)
    for key, couple, partner, at, value in Score.objects.filter(
        practice=practice, instrument_key__in=keys, is_total=True, value__isnull=False
    ).values_list("instrument_key", "couple_id", "partner_id", "submitted_at", "value"):
        scores[key].append(analytics.PartnerScore(couple, partner, at, value))  # type: ignore[arg-type]

    # Submissions, for the composite (shared items only), forms on time and baselines.
    submitted = Response.objects.filter(
        practice=practice, instrument__key__in=keys, state=ResponseState.SUBMITTED
    ).values_list(
        "instrument__key",
        "occurrence_id",
        "couple_id",
        "partner__position",
        "instrument_id",
        "submitted_at",
        "answers",
    )
    by_occurrence: dict[int, list[tuple[int, int, datetime, dict[str, object]]]] = defaultdict(list)
    key_of: dict[int, tuple[str, int]] = {}
    submitted_on: dict[int, list[date]] = defaultdict(list)
    first: dict[tuple[str, int], tuple[datetime, int]] = {}
    for key, occurrence, couple, position, version, at, answers in submitted:  # type: ignore[assignment]
        by_occurrence[occurrence].append((position, version, at, answers))
        key_of[occurrence] = (key, couple)
        submitted_on[occurrence].append(at.astimezone(tz).date())
        if (key, couple) not in first or at < first[(key, couple)][0]:
            first[(key, couple)] = (at, occurrence)
    pairs: dict[str, list[analytics.CouplePair]] = defaultdict(list)
    complete = {o: sorted(rows) for o, rows in by_occurrence.items() if len(rows) == 2}
    versions = Instrument.objects.in_bulk({rows[0][1] for rows in complete.values()})
    for occurrence, ((_p1, version_id, one_at, one), (_p2, _v, two_at, two)) in complete.items():
        version = versions[version_id]  # type: ignore[assignment]
        if version.is_private:  # type: ignore[attr-defined]
            continue
        # The same shared-items numbers as results.couple_result, without item agreement.
        scales = results.couple_scales(version.definition, version.plan, one, two)  # type: ignore[attr-defined]
        total = next((s for s in scales or () if s.key == version.total_key), None)  # type: ignore[attr-defined]
        if total is None or total.one is None or total.two is None:
            continue
        key, couple = key_of[occurrence]
        pairs[key].append(analytics.CouplePair(couple, max(one_at, two_at), total.one, total.two))

    forms: dict[str, list[analytics.DueForm]] = defaultdict(list)
    for pk, key, couple, due, expected in Occurrence.objects.filter(
        practice=practice, instrument__key__in=keys, cancelled=False
    ).values_list("pk", "instrument__key", "couple_id", "due_date", "expected"):
        forms[key].append(
            analytics.DueForm(couple, pk, due, expected, tuple(sorted(submitted_on.get(pk, []))))
        )
    first_answered: dict[str, dict[int, tuple[int, date]]] = defaultdict(dict)
    for (key, couple), (at, occurrence) in first.items():
        first_answered[key][couple] = (occurrence, at.astimezone(tz).date())
    return {
        key: analytics.InstrumentRows(
            analytics.Scale(None, instrument.direction(instrument.total_key) == "higher_is_better"),
            scores[key],
            pairs[key],
            forms[key],
            first_answered[key],
        )
        for key, instrument in instruments.items()
    }


def practice_outcomes(
    practice: Practice, filters: Filters, today: date
) -> list[InstrumentOutcomes]:
    """Per instrument the practice has used: the outcomes of the asked-for group, suppressed."""
    validate_period(filters.start, filters.end)
    tz = zoneinfo.ZoneInfo(practice.timezone)
    period = analytics.Period(
        datetime.combine(filters.start, time.min, tz), datetime.combine(filters.end, time.max, tz)
    )
    everyone, caseloads = _caseloads(practice)
    used = (
        Occurrence.objects.filter(practice=practice)
        .values_list("instrument__key", flat=True)
        .distinct()
    )
    # Private screens have no change statistics, so nothing here to count.
    instruments = {
        key: instrument
        for key, instrument in newest_instruments(list(used)).items()
        if not instrument.is_private
    }
    rows = _rows(practice, instruments, tz)
    asked = analytics.WHOLE if filters.clinician is None else filters.clinician.pk
    found = []
    for key, instrument in sorted(instruments.items(), key=lambda kv: kv[1].title):
        info = norms_for(instrument, instrument.total_key, practice)
        data = rows[key]
        data = analytics.InstrumentRows(
            analytics.Scale(info.norms, data.scale.higher_is_better),
            data.scores,
            data.pairs,
            data.forms,
            data.first_answered,
        )
        groups: dict[str | int, analytics.Outcomes] = {
            analytics.WHOLE: analytics.outcomes(data, everyone, period, today)
        }
        for user_id, couples in caseloads.items():
            groups[user_id] = analytics.outcomes(data, couples, period, today)
        shown = analytics.suppress(groups)
        outcome = shown.get(asked)
        if outcome is None:  # a clinician with no couples at all
            outcome = analytics.Outcomes()
        found.append(InstrumentOutcomes(instrument, info, outcome))
    return found


# --- The same numbers as rows, for the CSV and the API ---------------------------------------

COLUMNS = [
    "instrument",
    "instrument_version",
    "period_start",
    "period_end",
    "clinician",
    "change_statistics",
    "partners_followed",
    "partners_recovered",
    "partners_improved",
    "partners_unchanged",
    "partners_deteriorated",
    "partner_median_change",
    "couples_followed",
    "couples_recovered",
    "couples_improved",
    "couples_unchanged",
    "couples_deteriorated",
    "couple_median_change",
    "split_couples",
    "forms_due",
    "forms_on_time",
    "dropout_eligible",
    "dropped_out",
    "suppressed",
]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def as_record(item: InstrumentOutcomes, filters: Filters) -> dict[str, object]:
    """One instrument's numbers under the COLUMNS names; suppressed numbers are None."""
    o = item.outcomes
    classes = {"partners": o.partner_classes, "couples": o.couple_classes}
    record: dict[str, object] = {
        "instrument": item.instrument.key,
        "instrument_version": item.instrument.version,
        "period_start": filters.start.isoformat(),
        "period_end": filters.end.isoformat(),
        "clinician": str(filters.clinician.uuid) if filters.clinician else "",
        "change_statistics": item.norms.norms is not None,
        "partners_followed": o.partners_followed,
        "partner_median_change": _rounded(o.partner_median_change),
        "couples_followed": o.couples_followed,
        "couple_median_change": _rounded(o.couple_median_change),
        "split_couples": o.split_couples,
        "forms_due": o.forms_due,
        "forms_on_time": o.forms_on_time,
        "dropout_eligible": o.dropout_eligible,
        "dropped_out": o.dropped_out,
        "suppressed": sorted(block.value for block in o.suppressed),
    }
    for who, found in classes.items():
        for change_class in analytics.CLASSES:
            record[f"{who}_{change_class.value}"] = found.get(change_class.value)
    return record


def csv_lines(items: Sequence[InstrumentOutcomes], filters: Filters) -> Iterator[str]:
    """The records as CSV (formula injection defused); suppressed cells are empty."""
    return csvsafe.lines(
        COLUMNS,
        (
            [
                " ".join(value) if isinstance(value, list) else value
                for value in (as_record(item, filters)[column] for column in COLUMNS)
            ]
            for item in items
        ),
    )


def block_size(item: InstrumentOutcomes, block: Block) -> int | None:
    """How many couples a shown block rests on (None when suppressed)."""
    if block in item.outcomes.suppressed:
        return None
    return item.outcomes.size(block)
