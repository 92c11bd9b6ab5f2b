"""Scoring arithmetic: answers in, scale scores, bands and alert hits out.

Pure Python with no Django import, so it can be tested and benchmarked on its
own. A ``Plan`` is compiled once per instrument version and then scores any
number of responses.

Rules:
- Reverse-keyed items are recoded as ``low + high - value`` of that item's
  answer range before any scale sees them.
- A scale scores only when at least ``min_answered`` of its items have an
  answer (the missing-data rule). ``mean`` averages the answered items;
  ``sum`` is prorated: the mean of the answered items times the item count,
  so a missing answer neither lowers nor raises the total.
- Bands are half-open ``[min, max)`` except the highest, which includes its max.
- Alert rules look at raw answers, before any recoding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assessments.definition import SCORED_TYPES, has_range, scale_range, value_range

# Bump when the arithmetic changes; stored with every score so a re-score can
# find the rows an older rule produced.
SCORING_VERSION = "1"


@dataclass(frozen=True, slots=True)
class ScaleScore:
    key: str
    value: float | None  # None when the missing-data rule is not met
    answered: int
    n_items: int
    band: str | None


@dataclass(frozen=True, slots=True)
class AlertHit:
    key: str
    kind: str
    items: tuple[str, ...]  # link ids whose answers met the rule


@dataclass(frozen=True, slots=True)
class Result:
    scales: dict[str, ScaleScore]
    total_key: str
    alerts: tuple[AlertHit, ...]
    version: str = SCORING_VERSION

    @property
    def total(self) -> ScaleScore:
        return self.scales[self.total_key]


@dataclass(frozen=True, slots=True)
class _Scale:
    key: str
    items: tuple[str, ...]
    mean: bool
    min_answered: int
    bands: tuple[tuple[float, float, str], ...]
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class _Alert:
    key: str
    kind: str
    items: tuple[str, ...]
    at_least: float


@dataclass(frozen=True)
class Plan:
    """A compiled scoring recipe for one instrument version."""

    scales: tuple[_Scale, ...]
    total_key: str
    alerts: tuple[_Alert, ...]
    # link id -> (low + high) for reverse-keyed items, used for recoding.
    reverse_sum: Mapping[str, float]
    scored_items: frozenset[str]
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def compile(cls, definition: Mapping[str, Any]) -> Plan:
        """Build the plan from a validated definition."""
        items = {item["link_id"]: item for item in definition["items"]}
        ranges = {
            link_id: value_range(definition, item)
            for link_id, item in items.items()
            if item["type"] in SCORED_TYPES and has_range(definition, item)
        }
        reverse_sum = {
            link_id: ranges[link_id][0] + ranges[link_id][1]
            for link_id, item in items.items()
            if item.get("reverse") and link_id in ranges
        }
        scales = []
        total_key = ""
        for scale in definition["scales"]:
            low, high = scale_range(scale, ranges[scale["items"][0]])
            bands = tuple(
                sorted((float(b["min"]), float(b["max"]), b["key"]) for b in scale.get("bands", []))
            )
            scales.append(
                _Scale(
                    key=scale["key"],
                    items=tuple(scale["items"]),
                    mean=scale["method"] == "mean",
                    min_answered=scale["min_answered"],
                    bands=bands,
                    low=low,
                    high=high,
                )
            )
            if scale.get("total"):
                total_key = scale["key"]
        alerts = tuple(
            _Alert(a["key"], a["kind"], tuple(a["items"]), float(a["at_least"]))
            for a in definition.get("alerts", [])
        )
        return cls(tuple(scales), total_key, alerts, reverse_sum, frozenset(ranges), ranges)

    def recode(self, link_id: str, value: float) -> float:
        """The value a scale sees: reversed for reverse-keyed items."""
        total = self.reverse_sum.get(link_id)
        return value if total is None else total - value

    def score(self, answers: Mapping[str, Any]) -> Result:
        """Score one response; ``answers`` maps link ids to raw answer values."""
        recoded: dict[str, float] = {}
        for link_id, raw in answers.items():
            if link_id in self.scored_items and raw is not None:
                recoded[link_id] = self.recode(link_id, float(raw))
        scales: dict[str, ScaleScore] = {}
        for scale in self.scales:
            values = [recoded[i] for i in scale.items if i in recoded]
            answered = len(values)
            value: float | None = None
            band: str | None = None
            if answered >= scale.min_answered:
                mean = sum(values) / answered
                value = mean if scale.mean else mean * len(scale.items)
                band = band_of(value, scale.bands)
            scales[scale.key] = ScaleScore(scale.key, value, answered, len(scale.items), band)
        hits = []
        for alert in self.alerts:
            matched = tuple(
                i
                for i in alert.items
                if answers.get(i) is not None and answers[i] >= alert.at_least
            )
            if matched:
                hits.append(AlertHit(alert.key, alert.kind, matched))
        return Result(scales, self.total_key, tuple(hits))

    def scale_bounds(self, key: str) -> tuple[float, float]:
        """The possible range of a scale's score."""
        for scale in self.scales:
            if scale.key == key:
                return scale.low, scale.high
        raise KeyError(key)


def band_of(value: float, bands: Sequence[tuple[float, float, str]]) -> str | None:
    """The key of the band holding the value, if any."""
    for index, (low, high, key) in enumerate(bands):
        last = index == len(bands) - 1
        if low <= value < high or (last and value == high):
            return key
    return None
