"""The results of one form (occurrence): the one record the results page and API read.

``form_results(membership, occurrence_id, language)`` is the read path. It applies the
rules once: only a role that may read clinical data gets a record at all (404 otherwise,
as for a form that is not the member's to see); a partner's scores and answers enter only
once submitted; the couple comparison (``comparison.compare``) is None until both
partners submitted, when either answer set could not be scored, and always for a
private instrument, and it never holds a private item. Staff see each partner's own
answers to private items (the page marks them); nothing couple-facing reads this record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from assessments import definition as defn
from assessments.access import get_occurrence
from assessments.comparison import compare
from assessments.models import Instrument, Occurrence, Response, Score
from assessments.presentation import answer_label
from assessments.results import CoupleResult, ItemAgreement, ScaleComparison
from clients.models import Partner
from practice.models import Membership
from practice.roles import Can, require


@dataclass(frozen=True)
class PartnerResults:
    """One partner's part: their answer set and, once submitted, its answers and scores."""

    partner: Partner
    response: Response | None  # None until the partner opens the form
    submitted: bool
    answers: Mapping[str, Any]  # empty until submitted
    scores: tuple[Score, ...]  # as stored; empty until submitted (and while unscorable)


@dataclass(frozen=True)
class ScoreCell:
    """One partner's score on one scale, with its band named in the record's language."""

    value: float | None
    band: str
    band_label: str


@dataclass(frozen=True)
class ScaleLine:
    """One scale of the instrument: each partner's score and the couple comparison."""

    key: str
    label: str
    is_total: bool
    cells: tuple[ScoreCell | None, ...]  # in partner order; None without a score
    comparison: ScaleComparison | None


@dataclass(frozen=True)
class ItemLine:
    """One item: each partner's answer, and the couple's agreement on it if compared."""

    number: int
    link_id: str
    text: str
    reverse: bool
    private: bool
    values: tuple[Any, ...]  # raw answers in partner order; None when not given
    labels: tuple[str, ...]  # the same answers as people read them
    agreement: ItemAgreement | None


@dataclass(frozen=True)
class CoupleLines:
    """The compared scales and items, in the comparison's order."""

    scales: tuple[ScaleLine, ...]
    items: tuple[ItemLine, ...]


@dataclass(frozen=True)
class FormResults:
    """What both partners' answers to one form amount to, in one language."""

    occurrence: Occurrence
    instrument: Instrument
    language: str
    partners: tuple[PartnerResults, ...]
    scales: tuple[ScaleLine, ...]  # in the definition's order
    items: tuple[ItemLine, ...]  # in the definition's order
    comparison: CoupleResult | None
    couple: CoupleLines | None  # None exactly when comparison is
    unscorable: bool  # an answer set could not be scored, so nothing is compared


def form_results(membership: Membership, occurrence_id: UUID | str, language: str) -> FormResults:
    """The results of a form of a couple this member may see; 404 otherwise.

    Texts and labels are in ``language``. At most four queries: the form, the partners,
    the answer sets and their scores.
    """
    require(membership, Can.VIEW_CLINICAL)
    occurrence = get_occurrence(membership, occurrence_id, select=("instrument", "couple"))
    instrument = occurrence.instrument
    partners = list(occurrence.couple.partners.order_by("position"))
    by_partner = {
        r.partner_id: r
        for r in Response.objects.filter(occurrence=occurrence).prefetch_related("scores")
    }
    parts = []
    for partner in partners:
        response = by_partner.get(partner.pk)
        if response is not None:
            response.partner = partner  # the page names its owner; no query for it
        submitted = bool(response and response.is_submitted)
        parts.append(
            PartnerResults(
                partner=partner,
                response=response,
                submitted=submitted,
                answers=response.answers if response and submitted else {},
                scores=tuple(response.scores.all()) if response and submitted else (),
            )
        )
    pair = [part.response for part in parts]
    comparison = compare(instrument, pair)
    scales = _scale_lines(instrument, parts, language, comparison)
    items = _item_lines(instrument, parts, language, comparison)
    return FormResults(
        occurrence=occurrence,
        instrument=instrument,
        language=language,
        partners=tuple(parts),
        scales=scales,
        items=items,
        comparison=comparison,
        couple=_couple_lines(scales, items, comparison),
        unscorable=any(r is not None and bool(r.scoring_error) for r in pair),
    )


def _scale_lines(
    instrument: Instrument,
    parts: list[PartnerResults],
    language: str,
    comparison: CoupleResult | None,
) -> tuple[ScaleLine, ...]:
    by_scale: dict[str, list[ScoreCell | None]] = {}
    for index, part in enumerate(parts):
        for score in part.scores:
            cell = ScoreCell(
                score.value,
                score.band,
                instrument.band_label(score.scale, score.band, language),
            )
            by_scale.setdefault(score.scale, [None] * len(parts))[index] = cell
    compared = {c.key: c for c in comparison.scales} if comparison else {}
    return tuple(
        ScaleLine(
            key=scale["key"],
            label=instrument.scale_label(scale["key"], language),
            is_total=bool(scale.get("total")),
            cells=tuple(by_scale.get(scale["key"], [None] * len(parts))),
            comparison=compared.get(scale["key"]),
        )
        for scale in instrument.definition["scales"]
    )


def _item_lines(
    instrument: Instrument,
    parts: list[PartnerResults],
    language: str,
    comparison: CoupleResult | None,
) -> tuple[ItemLine, ...]:
    default = instrument.definition["default_language"]
    agreement = {a.link_id: a for a in comparison.items} if comparison else {}
    lines = []
    for number, item in enumerate(instrument.definition["items"], start=1):
        link_id = item["link_id"]
        values = tuple(part.answers.get(link_id) for part in parts)
        lines.append(
            ItemLine(
                number=number,
                link_id=link_id,
                text=defn.localized(item["text"], language, default),
                reverse=bool(item.get("reverse")),
                private=instrument.is_private or bool(item.get("private")),
                values=values,
                labels=tuple(answer_label(instrument, item, v, language) for v in values),
                agreement=agreement.get(link_id),
            )
        )
    return tuple(lines)


def _couple_lines(
    scales: tuple[ScaleLine, ...], items: tuple[ItemLine, ...], comparison: CoupleResult | None
) -> CoupleLines | None:
    if comparison is None:
        return None
    # The plan is compiled from the definition, so every compared scale and item has a line.
    scale_lines = {line.key: line for line in scales}
    item_lines = {line.link_id: line for line in items}
    return CoupleLines(
        scales=tuple(scale_lines[c.key] for c in comparison.scales),
        items=tuple(item_lines[a.link_id] for a in comparison.items),
    )
