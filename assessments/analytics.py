"""Practice outcome analytics from plain rows: pure, no Django.

A thin service (``assessments.services.analytics``) reads the rows; everything
counted here is explained in plain words, with its formula, in docs/analytics.md.
Change is decided by the same functions as everywhere else (``assessments.stats``).

Per instrument and period, for a set of couples (a group):
- partners: each partner's first total score ever is the baseline; the latest
  total scored inside the period (other than the baseline) is the follow-up.
  The change is classified with ``stats.reliable_change``.
- couples: the composite (mean of the two partners on shared items) at the
  first occurrence both answered is the baseline; the latest one both answered
  inside the period is the follow-up; classified with ``stats.couple_change``
  (and "recovered" when it also crosses the cut-off, the edge rule of ``classify``).
- split: a couple whose partners, at those two occurrences, moved reliably
  apart (``stats.split``: one improved or recovered, the other deteriorated).
- forms: partner-forms due in the period, and those submitted on or before the
  due date; dropout among couples with a baseline whose follow-up forms due in
  the period were all left unanswered.

Groups of fewer than ``MIN_GROUP`` couples are suppressed, and so is the
smallest other group when a suppressed one could be worked out by subtraction.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from assessments import stats

MIN_GROUP = 5
CLASSES = (
    stats.ChangeClass.RECOVERED,
    stats.ChangeClass.IMPROVED,
    stats.ChangeClass.UNCHANGED,
    stats.ChangeClass.DETERIORATED,
)
WHOLE = "all"  # the key of the group holding every couple in view
type GroupKey = str | int  # WHOLE, or whatever names a caseload (a clinician's id)


class Block(StrEnum):
    """Numbers that rest on the same couples, suppressed together."""

    PARTNERS = "partners"
    COUPLES = "couples"
    FORMS = "forms"


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # inclusive

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


@dataclass(frozen=True)
class PartnerScore:
    """One submitted total score of one partner."""

    couple: int
    partner: int
    at: datetime
    value: float


@dataclass(frozen=True)
class CouplePair:
    """One occurrence both partners answered: each partner's score on the shared items."""

    couple: int
    at: datetime  # the later of the two submissions
    one: float
    two: float

    @property
    def mean(self) -> float:
        return (self.one + self.two) / 2


@dataclass(frozen=True)
class DueForm:
    """One occurrence of the instrument that was due, with what came of it."""

    couple: int
    occurrence: int
    due: date
    expected: int  # partners asked: 1 or 2
    submitted_on: tuple[date, ...]  # local dates of the submissions so far, any time


@dataclass(frozen=True)
class Scale:
    """What the statistics need about the instrument's total."""

    norms: stats.Norms | None  # None: no change statistics (the reason is the service's)
    higher_is_better: bool = True

    def towards_better(self, x1: float, x2: float) -> float:
        return (x2 - x1) if self.higher_is_better else (x1 - x2)


@dataclass(frozen=True)
class Outcomes:
    """The numbers of one group of couples for one instrument and period."""

    # None where a block is suppressed; the classes are empty without change statistics.
    partners_followed: int | None = 0
    partner_classes: Mapping[str, int] = field(default_factory=dict)
    partner_median_change: float | None = None
    couples_followed: int | None = 0
    couple_classes: Mapping[str, int] = field(default_factory=dict)
    couple_median_change: float | None = None
    split_couples: int | None = 0
    forms_due: int | None = 0
    forms_on_time: int | None = 0
    dropout_eligible: int | None = 0
    dropped_out: int | None = 0
    # The couples each block's numbers rest on (the unit of suppression).
    block_couples: Mapping[Block, frozenset[int]] = field(default_factory=dict)
    suppressed: frozenset[Block] = frozenset()

    def size(self, block: Block) -> int:
        return len(self.block_couples.get(block, frozenset()))


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def partner_outcomes(
    scores: Iterable[PartnerScore], period: Period, scale: Scale
) -> dict[int, tuple[int, float, float, str | None]]:
    """Per partner with a baseline and a follow-up: (couple, baseline, follow-up, class).

    The class is None without change statistics.
    """
    by_partner: dict[int, list[PartnerScore]] = defaultdict(list)
    for score in scores:
        if score.at <= period.end:
            by_partner[score.partner].append(score)
    found = {}
    for partner, rows in by_partner.items():
        rows.sort(key=lambda row: row.at)
        baseline = rows[0]
        inside = [row for row in rows[1:] if row.at in period]
        if not inside:
            continue
        follow_up = inside[-1]
        change_class = None
        if scale.norms is not None:
            change_class = stats.reliable_change(
                baseline.value, follow_up.value, scale.norms, scale.higher_is_better
            ).change_class.value
        found[partner] = (baseline.couple, baseline.value, follow_up.value, change_class)
    return found


def couple_class(first: float, latest: float, scale: Scale) -> str | None:
    """The composite's class: the couple words, with "recovered" when it crosses the cut-off."""
    if scale.norms is None:
        return None
    change = stats.couple_change(
        [first, latest], stats.Horizon.START, scale.norms, scale.higher_is_better
    )
    if change.word is stats.CoupleWord.STRONGER:
        c = scale.norms.cutoff
        crossed = c is not None and (
            first <= c < latest if scale.higher_is_better else first >= c > latest
        )
        return (stats.ChangeClass.RECOVERED if crossed else stats.ChangeClass.IMPROVED).value
    if change.word is stats.CoupleWord.LESS_STRONG:
        return stats.ChangeClass.DETERIORATED.value
    return stats.ChangeClass.UNCHANGED.value


def couple_outcomes(
    pairs: Iterable[CouplePair], period: Period, scale: Scale
) -> dict[int, tuple[CouplePair, CouplePair, str | None, bool]]:
    """Per couple with a composite baseline and follow-up: (baseline, follow-up, class, split)."""
    by_couple: dict[int, list[CouplePair]] = defaultdict(list)
    for pair in pairs:
        if pair.at <= period.end:
            by_couple[pair.couple].append(pair)
    found = {}
    for couple, rows in by_couple.items():
        rows.sort(key=lambda row: row.at)
        baseline = rows[0]
        inside = [row for row in rows[1:] if row.at in period]
        if not inside:
            continue
        follow_up = inside[-1]
        is_split = False
        if scale.norms is not None:
            is_split = (
                stats.split(
                    [baseline.one, follow_up.one],
                    [baseline.two, follow_up.two],
                    scale.norms,
                    scale.higher_is_better,
                )
                is not None
            )
        found[couple] = (
            baseline,
            follow_up,
            couple_class(baseline.mean, follow_up.mean, scale),
            is_split,
        )
    return found


def form_outcomes(
    forms: Iterable[DueForm],
    first_answered: Mapping[int, tuple[int, date]],
    period: Period,
    today: date,
) -> tuple[dict[int, tuple[int, int]], dict[int, bool]]:
    """Per couple: (partner-forms due, submitted on time) and, where eligible, dropped out.

    Only forms whose due date is in the period and has passed (or that were
    answered already) count: a form still open is neither on time nor late.
    ``first_answered`` maps a couple to (occurrence, local date) of its baseline.
    """
    counts: dict[int, tuple[int, int]] = {}
    follow_ups: dict[int, list[DueForm]] = defaultdict(list)
    start, end = period.start.date(), period.end.date()
    for form in forms:
        if not start <= form.due <= end:
            continue
        decided = form.due < today or len(form.submitted_on) >= form.expected
        if decided:
            due, on_time = counts.get(form.couple, (0, 0))
            in_time = sum(1 for day in form.submitted_on if day <= form.due)
            counts[form.couple] = (due + form.expected, on_time + min(in_time, form.expected))
        baseline = first_answered.get(form.couple)
        if (
            baseline is not None
            and form.occurrence != baseline[0]
            and form.due >= baseline[1]
            and form.due < today
        ):
            follow_ups[form.couple].append(form)
    dropped = {
        couple: not any(form.submitted_on for form in due) for couple, due in follow_ups.items()
    }
    return counts, dropped


type _CoupleRows = tuple[list[PartnerScore], list[CouplePair], list[DueForm]]


@dataclass(frozen=True)
class InstrumentRows:
    """Everything one instrument's analytics are computed from."""

    scale: Scale
    scores: Sequence[PartnerScore]
    pairs: Sequence[CouplePair]
    forms: Sequence[DueForm]
    # Each couple's first submission of this instrument: (occurrence, local date).
    first_answered: Mapping[int, tuple[int, date]]

    @cached_property
    def _by_couple(self) -> dict[int, _CoupleRows]:
        """The rows of each couple, so that each group reads only its own."""
        found: dict[int, _CoupleRows] = defaultdict(lambda: ([], [], []))
        for score in self.scores:
            found[score.couple][0].append(score)
        for pair in self.pairs:
            found[pair.couple][1].append(pair)
        for form in self.forms:
            found[form.couple][2].append(form)
        return dict(found)

    def of(self, couples: frozenset[int]) -> _CoupleRows:
        """The scores, pairs and forms of these couples."""
        scores: list[PartnerScore] = []
        pairs: list[CouplePair] = []
        forms: list[DueForm] = []
        for couple in couples:
            found = self._by_couple.get(couple)
            if found is not None:
                scores += found[0]
                pairs += found[1]
                forms += found[2]
        return scores, pairs, forms


def outcomes(
    rows: InstrumentRows, couples: frozenset[int], period: Period, today: date
) -> Outcomes:
    """The numbers of one group of couples (before suppression)."""
    scores, couple_pairs, forms = rows.of(couples)
    partners = partner_outcomes(scores, period, rows.scale)
    pairs = couple_outcomes(couple_pairs, period, rows.scale)
    counts, dropped = form_outcomes(forms, rows.first_answered, period, today)
    partner_classes = {c.value: 0 for c in CLASSES}
    for _couple, _base, _follow, change_class in partners.values():
        if change_class is not None:
            partner_classes[change_class] += 1
    couple_classes = {c.value: 0 for c in CLASSES}
    for _base_pair, _follow_pair, change_class, _split in pairs.values():
        if change_class is not None:
            couple_classes[change_class] += 1
    has_norms = rows.scale.norms is not None
    return Outcomes(
        partners_followed=len(partners),
        partner_classes=partner_classes if has_norms else {},
        partner_median_change=_median(
            [rows.scale.towards_better(base, follow) for _c, base, follow, _k in partners.values()]
        ),
        couples_followed=len(pairs),
        couple_classes=couple_classes if has_norms else {},
        couple_median_change=_median(
            [rows.scale.towards_better(b.mean, f.mean) for b, f, _k, _s in pairs.values()]
        ),
        split_couples=sum(1 for *_rest, is_split in pairs.values() if is_split),
        forms_due=sum(due for due, _ in counts.values()),
        forms_on_time=sum(on_time for _, on_time in counts.values()),
        dropout_eligible=len(dropped),
        dropped_out=sum(dropped.values()),
        block_couples={
            Block.PARTNERS: frozenset(found[0] for found in partners.values()),
            Block.COUPLES: frozenset(pairs),
            Block.FORMS: frozenset(counts) | frozenset(dropped),
        },
    )


def small(size: int) -> bool:
    """A group that would say something about fewer than MIN_GROUP couples."""
    return 0 < size < MIN_GROUP


def suppress(groups: Mapping[GroupKey, Outcomes]) -> dict[GroupKey, Outcomes]:
    """Primary and complementary suppression over one instrument's groups.

    ``groups`` holds the whole (``WHOLE``) and each clinician's caseload, all from
    the same rows and period. Per block: a group resting on 1 to 4 couples is
    suppressed. Then, while the whole is shown and the couples covered by no shown
    group number 1 to 4 (so whole minus the shown groups would describe them), the
    smallest shown group is suppressed too. The result does not depend on who asks.
    """
    hidden: dict[GroupKey, set[Block]] = {key: set() for key in groups}
    whole = groups.get(WHOLE)
    for block in Block:
        for key, group in groups.items():
            if small(group.size(block)):
                hidden[key].add(block)
        if whole is None or block in hidden[WHOLE]:
            continue
        everyone = whole.block_couples.get(block, frozenset())
        while True:
            shown = [
                key
                for key in groups
                if key != WHOLE and block not in hidden[key] and groups[key].size(block) > 0
            ]
            covered: set[int] = set()
            for key in shown:
                covered |= groups[key].block_couples[block]
            if not small(len(everyone - covered)) or not shown:
                break
            smallest = min(shown, key=lambda key: (groups[key].size(block), str(key)))
            hidden[smallest].add(block)
    return {key: _blank(group, frozenset(hidden[key])) for key, group in groups.items()}


def _blank(group: Outcomes, hidden: frozenset[Block]) -> Outcomes:
    """The group with the numbers of its hidden blocks taken out (not merely flagged)."""
    if not hidden:
        return group
    changes: dict[str, object] = {
        "suppressed": hidden,
        "block_couples": {
            block: couples for block, couples in group.block_couples.items() if block not in hidden
        },
    }
    if Block.PARTNERS in hidden:
        changes.update(partners_followed=None, partner_classes={}, partner_median_change=None)
    if Block.COUPLES in hidden:
        changes.update(
            couples_followed=None, couple_classes={}, couple_median_change=None, split_couples=None
        )
    if Block.FORMS in hidden:
        changes.update(forms_due=None, forms_on_time=None, dropout_eligible=None, dropped_out=None)
    return replace(group, **changes)  # type: ignore[arg-type]


def share(part: int | None, whole: int | None) -> float | None:
    """part / whole, or None when either is missing or there is no whole."""
    return part / whole if part is not None and whole else None
