"""How often the deterioration rule fires, measured by simulation (docs/instruments.md).

Pure Python and seeded, so the figures are exact and the run takes well under a
second. Partners answer a twelve-item 1-5 questionnaire (like the Connection
Signs Inventory) once a month for six months. Each answer is the partner's
true level plus item noise, rounded to the nearest answer and kept inside 1-5;
the noise is set so the questionnaire's reliability is about .80. Norms (SD and
Cronbach's alpha) are estimated from the simulated first administrations with
the same functions the nightly task uses, and every form after the first is
judged with ``stats.deterioration``, the function the alert service calls after
each scoring.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from assessments import stats

ITEMS = 12
FORMS = 6
PARTNERS = 1000  # per group
TRUE_SD = 0.5  # spread of partners' true levels, in answer points
ITEM_NOISE = 0.83  # per answer, in answer points: alpha comes out at .80
DROP_IN_SD = 2.0  # the true drop of the second group, in baseline SDs
DROPPED_FORMS = 3  # the drop holds for the last three of the six forms
SEED = 20261126


def _answers(rng: random.Random, level: float) -> list[int]:
    return [min(5, max(1, round(level + rng.gauss(0, ITEM_NOISE)))) for _ in range(ITEMS)]


def _score(answers: Sequence[int]) -> float:
    return sum(answers) / len(answers)


def _ever_alerted(scores: Sequence[float], norms: stats.Norms) -> bool:
    """Whether any form, judged as it arrived, would have raised a deterioration alert."""
    return any(
        stats.deterioration(scores[:seen], norms) is not None for seen in range(2, len(scores) + 1)
    )


def _any_single_reliable_drop(scores: Sequence[float], norms: stats.Norms) -> bool:
    """The rule without confirmation: any form reliably below the baseline."""
    return any(
        stats.rci(scores[0], later, norms.sd, norms.reliability) < -stats.RELIABLE
        for later in scores[1:]
    )


def simulate() -> dict[str, float]:
    rng = random.Random(SEED)
    levels = [3.0 + rng.gauss(0, TRUE_SD) for _ in range(2 * PARTNERS)]
    baselines = [_answers(rng, level) for level in levels]
    alpha = stats.cronbach_alpha(baselines)
    assert alpha is not None
    spread = stats.sd([_score(a) for a in baselines])
    norms = stats.Norms(spread, alpha, len(baselines), "estimated")
    drop = DROP_IN_SD * spread
    series = []
    for index, (level, baseline) in enumerate(zip(levels, baselines, strict=True)):
        dropping = index >= PARTNERS
        scores = [_score(baseline)]
        for form in range(1, FORMS):
            shifted = dropping and form >= FORMS - DROPPED_FORMS
            scores.append(_score(_answers(rng, level - drop if shifted else level)))
        series.append(scores)
    null, dropped = series[:PARTNERS], series[PARTNERS:]
    # Couples of two unchanged partners, for the split rule's false alarms.
    couples = list(zip(null[::2], null[1::2], strict=True))
    return {
        "alpha": alpha,
        "sd": spread,
        "null_alerted": sum(_ever_alerted(s, norms) for s in null) / PARTNERS,
        "drop_alerted": sum(_ever_alerted(s, norms) for s in dropped) / PARTNERS,
        "null_single_drop": sum(_any_single_reliable_drop(s, norms) for s in null) / PARTNERS,
        "null_split": sum(
            any(stats.split(a[:k], b[:k], norms) is not None for k in range(2, FORMS + 1))
            for a, b in couples
        )
        / len(couples),
    }


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    return simulate()


def test_the_simulated_questionnaire_has_the_intended_reliability(figures):
    assert figures["alpha"] == pytest.approx(0.80, abs=0.02)
    assert round(figures["alpha"], 3) == 0.801
    assert round(figures["sd"], 3) == 0.556


def test_no_true_change_alerts_at_most_five_percent_of_partners(figures):
    assert figures["null_alerted"] <= 0.05
    assert figures["null_alerted"] == 0.014  # the figure docs/instruments.md quotes


def test_a_sustained_two_sd_drop_alerts_at_least_eighty_percent(figures):
    assert figures["drop_alerted"] >= 0.80
    assert figures["drop_alerted"] == 0.828  # the figure docs/instruments.md quotes


def test_without_confirmation_false_alarms_would_pass_five_percent(figures):
    # Why the confirmation rule exists: five looks at 1.96 each add up.
    assert figures["null_single_drop"] > 0.05
    assert figures["null_single_drop"] == 0.077


def test_unchanged_couples_are_rarely_called_split(figures):
    assert figures["null_split"] <= 0.02
    assert figures["null_split"] == 0.01
