"""Change statistics: reliable change, clinical cut-offs, reliability. No Django.

Formulas (Jacobson & Truax, 1991):
- standard error of measurement ``SE = SD * sqrt(1 - r)``
- standard error of a difference ``S_diff = sqrt(2) * SE``
- ``RCI = (x2 - x1) / S_diff``; ``|RCI| > 1.96`` is reliable change (p < .05)
- criterion c, the cut-off between a clinical and a functional population:
  ``c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)``
- Cronbach's alpha ``k / (k - 1) * (1 - sum(item variances) / variance(total))``
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

RELIABLE = 1.96
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


def classify(
    x1: float, x2: float, norms: Norms, higher_is_better: bool = True
) -> tuple[float, ChangeClass]:
    """RCI and the Jacobson-Truax class of the change from x1 to x2.

    Recovered: reliable improvement that also crosses the cut-off from the
    clinical to the functional side. Improved: reliable improvement without
    that. Deteriorated: reliable change for the worse. Otherwise unchanged.
    """
    index = rci(x1, x2, norms.sd, norms.reliability)
    better = index if higher_is_better else -index
    if better > RELIABLE:
        if norms.cutoff is not None:
            was_clinical = x1 < norms.cutoff if higher_is_better else x1 > norms.cutoff
            now_functional = x2 >= norms.cutoff if higher_is_better else x2 <= norms.cutoff
            if was_clinical and now_functional:
                return index, ChangeClass.RECOVERED
        return index, ChangeClass.IMPROVED
    if better < -RELIABLE:
        return index, ChangeClass.DETERIORATED
    return index, ChangeClass.UNCHANGED
