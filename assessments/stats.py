"""Change statistics: reliable change, clinical cut-offs, reliability. No Django.

Formulas (Jacobson & Truax, 1991):
- standard error of measurement ``SE = SD * sqrt(1 - r)``
- standard error of a difference ``S_diff = sqrt(2) * SE``
- ``RCI = (x2 - x1) / S_diff``; ``|RCI| > 1.96`` is reliable change (p < .05)
- criterion c, the cut-off between a clinical and a functional population:
  ``c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)``
- Cronbach's alpha ``k / (k - 1) * (1 - sum(item variances) / variance(total))``

Decision rules built on them (docs/instruments.md says each in plain words):
- the couple composite (mean of the two partners) has the standard error
  ``SE / sqrt(2)``, so the reliable change of a difference of two composites is
  ``RC = (mean2 - mean1) / (SD * sqrt(1 - r))``
- deterioration: reliably worse than the baseline on the latest two forms in a
  row, or on the latest form alone by more than ``LARGE``; one alert per episode
- split: on one horizon, one partner reliably better and the other reliably worse
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

RELIABLE = 1.96
# A single form this far past the baseline needs no confirmation (two-sided p < .001).
LARGE = 3.29
# Below this many first administrations an estimated norm is not trusted.
MIN_NORM_SAMPLE = 30


class ChangeClass(StrEnum):
    RECOVERED = "recovered"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    DETERIORATED = "deteriorated"


@dataclass(frozen=True)
class Norms:
    """What change statistics need about a scale: baseline SD and reliability, maybe a cut-off."""

    sd: float
    reliability: float
    n: int
    source: str  # "published" or "estimated"
    cutoff: float | None = None


def standard_error(sd: float, reliability: float) -> float:
    """Standard error of measurement."""
    return sd * math.sqrt(1.0 - reliability)


def s_diff(sd: float, reliability: float) -> float:
    """Standard error of the difference between two scores."""
    return math.sqrt(2.0) * standard_error(sd, reliability)


def rci(x1: float, x2: float, sd: float, reliability: float) -> float:
    """Reliable Change Index from x1 to x2."""
    spread = s_diff(sd, reliability)
    if spread <= 0:
        raise ValueError("S_diff must be positive: need SD > 0 and reliability < 1")
    return (x2 - x1) / spread


def criterion_c(m_clin: float, sd_clin: float, m_func: float, sd_func: float) -> float:
    """Cut-off c between the clinical and functional distributions."""
    return (sd_clin * m_func + sd_func * m_clin) / (sd_clin + sd_func)


def variance(values: Sequence[float]) -> float:
    """Sample variance (n - 1)."""
    n = len(values)
    if n < 2:
        raise ValueError("variance needs at least two values")
    mean = sum(values) / n
    return sum((v - mean) ** 2 for v in values) / (n - 1)


def sd(values: Sequence[float]) -> float:
    """Sample standard deviation."""
    return math.sqrt(variance(values))


def cronbach_alpha(rows: Sequence[Sequence[float]]) -> float | None:
    """Alpha from complete cases (rows = respondents, columns = items).

    None when it cannot be computed: fewer than two items or respondents, or
    no variance in the totals.
    """
    if len(rows) < 2 or not rows[0] or len(rows[0]) < 2:
        return None
    k = len(rows[0])
    if any(len(row) != k for row in rows):
        raise ValueError("every row needs the same number of items")
    item_variances = sum(variance([row[i] for row in rows]) for i in range(k))
    total_variance = variance([sum(row) for row in rows])
    if total_variance == 0:
        return None
    return k / (k - 1) * (1.0 - item_variances / total_variance)


def better(index: float, higher_is_better: bool = True) -> float:
    """An RCI turned so that positive always means a change for the better."""
    return index if higher_is_better else -index


def classify(
    x1: float, x2: float, norms: Norms, higher_is_better: bool = True
) -> tuple[float, ChangeClass]:
    """RCI and the Jacobson-Truax class of the change from x1 to x2.

    Recovered: reliable improvement from the clinical side of the cut-off (x1 at
    or below it, for higher-is-better) to the functional side (x2 above it):
    ``x1 <= c < x2``, mirrored as ``x1 >= c > x2`` when higher is worse.
    Improved: reliable improvement without that crossing. Deteriorated: reliable
    change for the worse. Otherwise unchanged.
    """
    index = rci(x1, x2, norms.sd, norms.reliability)
    towards_better = better(index, higher_is_better)
    if towards_better > RELIABLE:
        c = norms.cutoff
        if c is not None:
            crossed = x1 <= c < x2 if higher_is_better else x1 >= c > x2
            if crossed:
                return index, ChangeClass.RECOVERED
        return index, ChangeClass.IMPROVED
    if towards_better < -RELIABLE:
        return index, ChangeClass.DETERIORATED
    return index, ChangeClass.UNCHANGED


# --- Change over a series -------------------------------------------------------------------


class Horizon(StrEnum):
    START = "since_start"
    PREVIOUS = "since_previous"


@dataclass(frozen=True)
class ReliableChange:
    """One change between two scores, with its RCI and class."""

    x1: float
    x2: float
    rci: float
    change_class: ChangeClass


def reliable_change(
    x1: float, x2: float, norms: Norms, higher_is_better: bool = True
) -> ReliableChange:
    """The change from x1 to x2 as a value object."""
    index, change_class = classify(x1, x2, norms, higher_is_better)
    return ReliableChange(x1, x2, index, change_class)


def over(
    values: Sequence[float], horizon: Horizon, norms: Norms, higher_is_better: bool = True
) -> ReliableChange | None:
    """The change of the latest value since the first (START) or the one before (PREVIOUS)."""
    if len(values) < 2:
        return None
    x1 = values[0] if horizon is Horizon.START else values[-2]
    return reliable_change(x1, values[-1], norms, higher_is_better)


def _since_baseline(values: Sequence[float], norms: Norms, higher_is_better: bool) -> list[float]:
    """For each value after the first, its RCI from the first, turned so + is better."""
    return [
        better(rci(values[0], value, norms.sd, norms.reliability), higher_is_better)
        for value in values[1:]
    ]


def _run_start(towards_better: Sequence[float], inside: float) -> int:
    """Index (in the series, baseline = 0) of the first value of the latest run on one side.

    ``inside`` is +1 for a run of reliable improvement, -1 for one of reliable
    deterioration; the latest value must be inside the run.
    """
    start = len(towards_better)
    while start > 1 and inside * towards_better[start - 2] > RELIABLE:
        start -= 1
    return start


# --- Deterioration ---------------------------------------------------------------------------


class DeteriorationRule(StrEnum):
    CONFIRMED = "confirmed"  # reliably worse than the baseline on the latest two forms
    LARGE = "large"  # the latest form alone is worse than the baseline by RCI beyond LARGE


@dataclass(frozen=True)
class Deterioration:
    """A partner's latest score is in a deterioration episode that meets a rule."""

    rule: DeteriorationRule
    start: int  # index of the episode's first form: the episode's identity
    baseline: float
    latest: float
    rci: float  # baseline to latest, raw sign
    previous: float | None  # the form before the latest (CONFIRMED)
    previous_rci: float | None
    threshold: float


def deterioration(
    values: Sequence[float], norms: Norms, higher_is_better: bool = True
) -> Deterioration | None:
    """Whether the latest value confirms a reliable deterioration from the first.

    An episode is a run of consecutive forms each reliably worse than the
    baseline (RCI beyond 1.96 the wrong way). It counts once it holds two
    forms (confirmed), or at once when its only form is past ``LARGE``. The
    episode ends at the first form that is not reliably worse; a later run is
    a new episode.
    """
    if len(values) < 2:
        return None
    towards_better = _since_baseline(values, norms, higher_is_better)
    if towards_better[-1] >= -RELIABLE:
        return None
    start = _run_start(towards_better, -1.0)
    latest = len(values) - 1
    index = rci(values[0], values[-1], norms.sd, norms.reliability)
    if start < latest:
        return Deterioration(
            DeteriorationRule.CONFIRMED,
            start,
            values[0],
            values[-1],
            index,
            values[-2],
            rci(values[0], values[-2], norms.sd, norms.reliability),
            RELIABLE,
        )
    if towards_better[-1] < -LARGE:
        return Deterioration(
            DeteriorationRule.LARGE, start, values[0], values[-1], index, None, None, LARGE
        )
    return None


# --- Split -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """One partner reliably better and the other reliably worse, on one horizon."""

    horizon: Horizon
    improved: int  # 0 when partner one improved, 1 when partner two did
    changes: tuple[ReliableChange, ReliableChange]  # partner one's, partner two's
    # Per partner, the index of the form that opened the current run (START) or the
    # latest form (PREVIOUS): together they identify the episode.
    episode: tuple[int, int]


def split(
    one: Sequence[float], two: Sequence[float], norms: Norms, higher_is_better: bool = True
) -> Split | None:
    """Whether the partners are moving apart on this scale: since the start, else lately."""
    good = {ChangeClass.IMPROVED, ChangeClass.RECOVERED}
    for horizon in (Horizon.START, Horizon.PREVIOUS):
        a = over(one, horizon, norms, higher_is_better)
        b = over(two, horizon, norms, higher_is_better)
        if a is None or b is None:
            continue
        if a.change_class in good and b.change_class is ChangeClass.DETERIORATED:
            improved = 0
        elif b.change_class in good and a.change_class is ChangeClass.DETERIORATED:
            improved = 1
        else:
            continue
        if horizon is Horizon.START:
            signs = (1.0, -1.0) if improved == 0 else (-1.0, 1.0)
            episode = (
                _run_start(_since_baseline(one, norms, higher_is_better), signs[0]),
                _run_start(_since_baseline(two, norms, higher_is_better), signs[1]),
            )
        else:
            episode = (len(one) - 1, len(two) - 1)
        return Split(horizon, improved, (a, b), episode)
    return None


# --- The couple composite ----------------------------------------------------------------------


class CoupleWord(StrEnum):
    STRONGER = "stronger"
    LESS_STRONG = "less_strong"
    ABOUT_THE_SAME = "about_the_same"
    TOO_EARLY = "too_early"  # more forms, or more first administrations, will tell
    NOT_MEASURED = "not_measured"  # this scale never has reliable-change statistics


@dataclass(frozen=True)
class CoupleChange:
    """How the couple composite moved, in the words a couple reads."""

    word: CoupleWord
    first: float | None = None
    latest: float | None = None
    rc: float | None = None  # None when it is too early to tell


def couple_rc(mean1: float, mean2: float, sd: float, reliability: float) -> float:
    """Reliable change of the couple composite (the mean of two partners).

    A two-person mean has the standard error SE / sqrt(2); the difference of two
    such means has sqrt(2) times that, i.e. SE itself: RC = (m2 - m1) / SE.
    """
    error = standard_error(sd, reliability)
    if error <= 0:
        raise ValueError("SE must be positive: need SD > 0 and reliability < 1")
    return (mean2 - mean1) / error


def couple_change(
    means: Sequence[float],
    horizon: Horizon,
    norms: Norms | None,
    higher_is_better: bool = True,
    *,
    measurable: bool = True,
) -> CoupleChange:
    """The words for the composite's latest change since the first or the previous form.

    ``measurable`` is False for a scale that will never have norms (one item, a private
    screen, reliability below the floor): its word is NOT_MEASURED, never "too early".
    """
    waiting = CoupleWord.TOO_EARLY if measurable else CoupleWord.NOT_MEASURED
    if len(means) < 2:
        # One form: it is both the first and the latest; there is no previous one.
        only = means[-1] if means else None
        return CoupleChange(waiting, only if horizon is Horizon.START else None, only)
    first = means[0] if horizon is Horizon.START else means[-2]
    if norms is None:
        return CoupleChange(waiting, first, means[-1])
    rc = couple_rc(first, means[-1], norms.sd, norms.reliability)
    towards_better = better(rc, higher_is_better)
    if towards_better > RELIABLE:
        word = CoupleWord.STRONGER
    elif towards_better < -RELIABLE:
        word = CoupleWord.LESS_STRONG
    else:
        word = CoupleWord.ABOUT_THE_SAME
    return CoupleChange(word, first, means[-1], rc)
