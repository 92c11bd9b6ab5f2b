"""The couple report's one-page summary: what is going well, where to grow, what changed.

Written from the constructs behind the built-in measures (docs: CONSTRUCTS), in plain
words for the couple. It works from the couple version's frozen snapshot only, so it
can say nothing the rest of that report may not: areas of at least three shared
questions, described by a coarse level of the couple average, never a partner's answer.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from reports import records

# The couple average as a share of its scale's range (0 = lowest answer, 1 = highest,
# turned round where lower is better): at or above this an area is a strength, below
# GROWTH_BELOW it is a place to grow. In between it is neither.
STRENGTH_FROM = 0.7
GROWTH_BELOW = 0.5

# What each built-in area is about, for the couple. Keyed by "instrument:scale".
DESCRIPTIONS = {
    "connection-signs:responsiveness": _(
        "Noticing what the other needs and answering it: caring about each other's "
        "wishes, listening fully, feeling with each other and feeling seen."
    ),
    "connection-signs:openness": _(
        "Letting each other in: saying what you believe and hope for, knowing each "
        "other's private sides, and meeting feelings without judging them."
    ),
    "connection-signs:engagement": _(
        "Taking part in each other's lives: interest in the other's world, care for "
        "small daily details, and both of you putting in a fair share of effort."
    ),
    "connection-signs:total": _(
        "The everyday signs of emotional connection between you, taken together."
    ),
    "elements-of-connection:empathy": _(
        "Feeling what the other feels, as if what happens to one of you happens to both."
    ),
    "elements-of-connection:complicity": _(
        "Understanding each other without many words: a look or a gesture is enough."
    ),
    "elements-of-connection:communication": _(
        "Talking about feelings, and being able to raise what matters to you."
    ),
    "elements-of-connection:attachment": _(
        "Knowing the other is there for you, reliably, and that you belong together."
    ),
    "elements-of-connection:total": _(
        "Empathy, unspoken understanding, talking about feelings and a secure bond, taken together."
    ),
    "everyday-bond:total": _(
        "The friendship and daily closeness underneath your relationship: routines, "
        "shared history, affection, trust and being glad of ordinary days."
    ),
}


def level(value: float | None, low: float, high: float, higher_is_better: bool) -> str:
    """'strength', 'growth' or '' for a couple average on a scale from low to high."""
    if value is None or high <= low:
        return ""
    share = (value - low) / (high - low)
    if not higher_is_better:
        share = 1 - share
    if share >= STRENGTH_FROM:
        return "strength"
    if share < GROWTH_BELOW:
        return "growth"
    return ""


def build(
    instruments: list[records.InstrumentRecord], check_ins: list[records.CheckIn]
) -> records.Summary:
    """Strengths, growth areas and change for the summary page, from the frozen instruments.

    An instrument with areas of its own speaks through them; one without (a single
    overall score) speaks through its total.
    """
    strengths: list[records.SummaryEntry] = []
    growth: list[records.SummaryEntry] = []
    changes: list[records.ChangeEntry] = []
    for instrument in instruments:
        couple = instrument["couple"]
        areas = [(a["key"], a["label"], a.get("level", "")) for a in couple.get("subscales", [])]
        if not areas:
            areas = [("total", instrument["scale_label"], couple.get("level", ""))]
        for key, label, found in areas:
            entry: records.SummaryEntry = {
                "label": label,
                "instrument": instrument["title"],
                "about": str(DESCRIPTIONS.get(f"{instrument['key']}:{key}", "")),
            }
            if found == "strength":
                strengths.append(entry)
            elif found == "growth":
                growth.append(entry)
        changes.append({"instrument": instrument["title"], "word": couple["since_start"]["word"]})
    return {"strengths": strengths, "growth": growth, "changes": changes, "check_ins": check_ins}
