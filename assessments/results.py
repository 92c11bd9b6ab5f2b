"""Couple results: two partners' answers to one occurrence, side by side. No Django.

Private items never enter: they are dropped before anything is computed, and
a private instrument has no couple result at all.

Rules (docs/instruments.md):
- a gap between the partners' answers to an item counts when it is at least half
  the item's answer range (2 on 1-5, 5 on 1-10, 2 on 0-4)
- strengths: both answers in the favourable quarter of the range
- growth areas: both answers in the unfavourable quarter, or a gap that counts,
  or both partners undecided (both on the middle answer of a range of three or more)
- a large disagreement: totals at least a quarter of the total's range apart, or
  gaps on at least a third of the items (and at least three, or all of them on a
  form of fewer); a one-item form has only the item rule
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from assessments.definition import SCORED_TYPES
from assessments.scoring_rules import Plan

# Answers at least this share of the item's range apart are worth a clinician's look.
GAP_SHARE = 0.5
# Upper and lower quarter of an item's range count as "high" and "low".
HIGH_FRACTION = 0.75
LOW_FRACTION = 0.25
# Totals this far apart, as a share of the total's range, are a large disagreement ...
TOTAL_GAP_SHARE = 0.25
# ... and so are gaps on a third of the items, but never on fewer than this many.
MIN_FLAGGED_ITEMS = 3


class Growth(StrEnum):
    BOTH_LOW = "both_low"
    APART = "apart"
    UNDECIDED = "both_undecided"


def gap_needed(low: float, high: float) -> float:
    """The gap that counts on an item answered from low to high: half its range."""
    return GAP_SHARE * (high - low)


def undecided(value: float, low: float, high: float) -> bool:
    """The middle answer of a range with a middle (three answers or more)."""
    return high - low >= 2 and abs(value - (low + high) / 2) <= 0.5


@dataclass(frozen=True)
class ItemAgreement:
    link_id: str
    one: float | None  # raw answers, as given
    two: float | None
    gap: float | None
    flagged: bool  # a gap of at least gap_needed
    strength: bool  # both answers in the favourable quarter
    growth_reason: Growth | None = None
    gap_needed: float = 0.0

    @property
    def growth(self) -> bool:
        return self.growth_reason is not None


@dataclass(frozen=True)
class ScaleComparison:
    key: str
    one: float | None
    two: float | None

    @property
    def mean(self) -> float | None:
        if self.one is None or self.two is None:
            return None
        return (self.one + self.two) / 2

    @property
    def difference(self) -> float | None:
        if self.one is None or self.two is None:
            return None
        return abs(self.one - self.two)


@dataclass(frozen=True)
class CoupleResult:
    total_key: str
    scales: tuple[ScaleComparison, ...]
    items: tuple[ItemAgreement, ...]

    @property
    def total(self) -> ScaleComparison:
        return next(s for s in self.scales if s.key == self.total_key)

    @property
    def strengths(self) -> list[str]:
        return [i.link_id for i in self.items if i.strength]

    @property
    def growth_areas(self) -> list[str]:
        return [i.link_id for i in self.items if i.growth]

    @property
    def flagged(self) -> list[str]:
        return [i.link_id for i in self.items if i.flagged]


def shared_items(definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Scored items that may be shown at couple level (none of a private instrument)."""
    if definition.get("private"):
        return []
    return [
        item
        for item in definition["items"]
        if item["type"] in SCORED_TYPES and not item.get("private")
    ]


# Shared-items plans by the id of the plan they come from (plans are immutable and cached
# per instrument version): practice outcomes compare thousands of pairs of one version.
_SHARED_PLANS: dict[int, tuple[Plan, frozenset[str], Plan]] = {}


def _shared_plan(plan: Plan, shared: set[str]) -> Plan:
    """``_capped_plan``, remembered for the last shared set of each plan."""
    key = frozenset(shared)
    found = _SHARED_PLANS.get(id(plan))
    if found is not None and found[0] is plan and found[1] == key:
        return found[2]
    capped = _capped_plan(plan, shared)
    if len(_SHARED_PLANS) > 256:
        _SHARED_PLANS.clear()
    _SHARED_PLANS[id(plan)] = (plan, key, capped)
    return capped


def _capped_plan(plan: Plan, shared: set[str]) -> Plan:
    """The plan with each scale's missing-data rule capped at its shared items.

    Private answers are never given to a couple result, so a scale that needs more
    answers than it has shared items would otherwise never have a couple score.
    Sums are still prorated to the whole scale, so ranges and bands hold.
    """
    scales = tuple(
        replace(scale, min_answered=min(scale.min_answered, max(1, len(shared & set(scale.items)))))
        for scale in plan.scales
    )
    return replace(plan, scales=scales)


def couple_scales(
    definition: Mapping[str, Any],
    plan: Plan,
    one: Mapping[str, Any],
    two: Mapping[str, Any],
) -> tuple[ScaleComparison, ...] | None:
    """Each scale of both partners on the shared items only; None for a private instrument.

    The numbers of ``couple_result`` without its item-by-item agreement, for
    callers that need only the couple average (practice outcomes).
    """
    items = shared_items(definition)
    if not items:
        return None
    shared = {item["link_id"] for item in items}
    shared_plan = _shared_plan(plan, shared)
    score_one = shared_plan.score({k: v for k, v in one.items() if k in shared})
    score_two = shared_plan.score({k: v for k, v in two.items() if k in shared})
    return tuple(
        ScaleComparison(key, score_one.scales[key].value, score_two.scales[key].value)
        for key in score_one.scales
    )


def couple_result(
    definition: Mapping[str, Any],
    plan: Plan,
    one: Mapping[str, Any],
    two: Mapping[str, Any],
) -> CoupleResult | None:
    """Compare two partners' answers; None for a private instrument."""
    items = shared_items(definition)
    if not items:
        return None
    shared = {item["link_id"] for item in items}
    one_shared = {k: v for k, v in one.items() if k in shared}
    two_shared = {k: v for k, v in two.items() if k in shared}
    higher_is_better = definition["direction"] == "higher_is_better"
    agreements = []
    for item in items:
        link_id = item["link_id"]
        a, b = one_shared.get(link_id), two_shared.get(link_id)
        low, high = plan.ranges[link_id]
        needed = gap_needed(low, high)
        gap = abs(a - b) if a is not None and b is not None else None
        flagged = gap is not None and gap >= needed
        strength = False
        reason: Growth | None = None
        if a is not None and b is not None:
            # Recoded values put every item the same way round.
            ra, rb = plan.recode(link_id, a), plan.recode(link_id, b)
            if not higher_is_better:
                ra, rb = low + high - ra, low + high - rb
            top = low + HIGH_FRACTION * (high - low)
            bottom = low + LOW_FRACTION * (high - low)
            strength = ra >= top and rb >= top
            if ra <= bottom and rb <= bottom:
                reason = Growth.BOTH_LOW
            elif flagged:
                reason = Growth.APART
            elif undecided(a, low, high) and undecided(b, low, high):
                reason = Growth.UNDECIDED
        agreements.append(ItemAgreement(link_id, a, b, gap, flagged, strength, reason, needed))
    scales = couple_scales(definition, plan, one_shared, two_shared) or ()
    return CoupleResult(plan.total_key, scales, tuple(agreements))


@dataclass(frozen=True)
class Disagreement:
    """Why a pair of answers is a large disagreement: the totals, the items, or both."""

    by_totals: bool
    by_items: bool
    total_gap: float | None
    total_range: float
    flagged: int
    items_needed: int
    n_items: int


def disagreement(result: CoupleResult, total_bounds: tuple[float, float]) -> Disagreement | None:
    """The large-disagreement rule applied to one couple result, or None when it holds not."""
    low, high = total_bounds
    total_gap = result.total.difference
    n_items = len(result.items)
    # A total that is one item's answer is judged by the item rule alone: with two rules on
    # the same number the alert would call a gap large that the item view does not flag.
    by_totals = (
        n_items > 1
        and total_gap is not None
        and high > low
        and total_gap >= TOTAL_GAP_SHARE * (high - low)
    )
    needed = min(max(MIN_FLAGGED_ITEMS, n_items // 3), n_items)
    by_items = n_items > 0 and len(result.flagged) >= needed
    if not (by_totals or by_items):
        return None
    return Disagreement(
        by_totals, by_items, total_gap, high - low, len(result.flagged), needed, len(result.items)
    )
