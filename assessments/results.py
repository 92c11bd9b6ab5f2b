"""Couple results: two partners' answers to one occurrence, side by side. No Django.

Private items never enter: they are dropped before anything is computed, and
a private instrument has no couple result at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from assessments.definition import SCORED_TYPES
from assessments.scoring import Plan

# Answers this many scale points apart are worth a clinician's look.
DISAGREEMENT_GAP = 2.0
# Upper and lower quarter of an item's range count as "high" and "low".
HIGH_FRACTION = 0.75
LOW_FRACTION = 0.25


@dataclass(frozen=True)
class ItemAgreement:
    link_id: str
    one: float | None  # raw answers, as given
    two: float | None
    gap: float | None
    flagged: bool  # gap of DISAGREEMENT_GAP points or more
    strength: bool  # both answers in the favourable quarter
    growth: bool  # both answers in the unfavourable quarter


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


def _shared_plan(plan: Plan, shared: set[str]) -> Plan:
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
        gap = abs(a - b) if a is not None and b is not None else None
        strength = growth = False
        if a is not None and b is not None:
            # Recoded values put every item the same way round.
            ra, rb = plan.recode(link_id, a), plan.recode(link_id, b)
            if not higher_is_better:
                ra, rb = low + high - ra, low + high - rb
            top = low + HIGH_FRACTION * (high - low)
            bottom = low + LOW_FRACTION * (high - low)
            strength = ra >= top and rb >= top
            growth = ra <= bottom and rb <= bottom
        agreements.append(
            ItemAgreement(
                link_id,
                a,
                b,
                gap,
                flagged=gap is not None and gap >= DISAGREEMENT_GAP,
                strength=strength,
                growth=growth,
            )
        )
    shared_plan = _shared_plan(plan, shared)
    score_one = shared_plan.score(one_shared)
    score_two = shared_plan.score(two_shared)
    scales = tuple(
        ScaleComparison(key, score_one.scales[key].value, score_two.scales[key].value)
        for key in score_one.scales
    )
    return CoupleResult(plan.total_key, scales, tuple(agreements))
