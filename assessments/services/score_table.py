"""Scores as a table: one row per partner × occurrence × scale, with reliable change.

The couple page's CSV, the API's CSV and the whole-practice export all come
from ``score_rows``; a practice analytics page can aggregate the same rows.
Reliable change comes from ``assessments.services.change.partner_change``
(the one place change statistics are decided), called on each partner's series
up to each row, so every row says how far that score is from the partner's
first on the scale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from datetime import date, datetime

from django.db.models import QuerySet

from assessments.models import Instrument, InstrumentStatus, Score
from assessments.services.change import NormsInfo, Point, norms_for, partner_change
from clients.models import Couple, Partner
from practice import csvsafe


@dataclass(frozen=True)
class ScoreRow:
    couple: str
    partner: str
    partner_position: int
    instrument: str
    instrument_version: int
    scale: str
    is_total: bool
    occurrence: str
    due_date: date
    response: str
    submitted_at: datetime
    score: float | None
    band: str
    answered: int
    items: int
    rci_from_previous: float | None
    rci_from_baseline: float | None
    change_class: str  # from the partner's first score on this scale; empty without norms
    norms: str  # published, estimated, or empty when no reliable change can be given
    couple_label: str = ""  # only when names are asked for
    partner_name: str = ""


HEADER = [f.name for f in fields(ScoreRow)]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def newest_instruments(keys: Iterable[str]) -> dict[str, Instrument]:
    """The newest published or retired version of each key (whose norms and direction apply)."""
    newest: dict[str, Instrument] = {}
    for instrument in (
        Instrument.objects.filter(key__in=set(keys))
        .exclude(status=InstrumentStatus.DRAFT)
        .order_by("key", "-version")
    ):
        newest.setdefault(instrument.key, instrument)
    return newest


def score_rows(
    couples: QuerySet[Couple], *, include_private: bool = False, include_names: bool = False
) -> Iterator[ScoreRow]:
    """Every score of these couples, in couple, partner, instrument, scale and time order.

    Scores of private instruments (the safety screen) only when asked for.
    """
    # Instruments are read once each (not once per score: definitions are large).
    versions: dict[int, Instrument] = {}
    scores = (
        Score.objects.filter(couple__in=couples)
        .select_related("response__occurrence", "partner__practice", "couple")
        .order_by(
            "couple__label",
            "couple_id",
            "partner__position",
            "instrument_key",
            "scale",
            "submitted_at",
            "pk",
        )
    )
    series: dict[tuple[int, str, str], list[Score]] = defaultdict(list)
    order: list[tuple[int, str, str]] = []
    for score in scores.iterator(chunk_size=2000):
        if score.instrument_id not in versions:
            versions[score.instrument_id] = Instrument.objects.get(pk=score.instrument_id)
        score.instrument = versions[score.instrument_id]
        if score.instrument.is_private and not include_private:
            continue
        key = (score.partner_id, score.instrument_key, score.scale)
        if key not in series:
            order.append(key)
        series[key].append(score)
    instruments = newest_instruments(k[1] for k in order)
    norms: dict[tuple[int, str, int], NormsInfo] = {}
    for key in order:
        first = series[key][0]
        instrument = instruments[key[1]]
        # Norms depend on the instrument, the scale and (for demo practices) the practice.
        place = (instrument.pk, first.scale, first.partner.practice_id)
        if place not in norms:
            norms[place] = norms_for(instrument, first.scale, first.partner.practice)
        yield from _series_rows(series.pop(key), instrument, norms[place], include_names)


def _series_rows(
    scores: list[Score], instrument: Instrument, norms_info: NormsInfo, include_names: bool
) -> Iterator[ScoreRow]:
    partner: Partner = scores[0].partner
    points = [
        Point(s.submitted_at, s.value, str(s.response.uuid)) for s in scores if s.value is not None
    ]
    whole = partner_change(partner, instrument, scores[0].scale, points, norms_info)
    from_previous = {p.response_uuid: p.rci_from_previous for p in whole.points}
    norms = whole.norms.norms.source if whole.norms.norms is not None else ""
    seen = 0
    for score in scores:
        rci_from_baseline: float | None = None
        change_class = ""
        if score.value is not None:
            seen += 1
            if norms and seen > 1:
                # The same function on the series so far: change from the first score to this one.
                so_far = partner_change(partner, instrument, score.scale, points[:seen], norms_info)
                rci_from_baseline = so_far.rci
                change_class = so_far.change_class.value if so_far.change_class else ""
        occurrence = score.response.occurrence
        yield ScoreRow(
            couple=str(score.couple.uuid),
            partner=str(partner.uuid),
            partner_position=partner.position,
            instrument=score.instrument_key,
            instrument_version=score.instrument.version,
            scale=score.scale,
            is_total=score.is_total,
            occurrence=str(occurrence.uuid),
            due_date=occurrence.due_date,
            response=str(score.response.uuid),
            submitted_at=score.submitted_at,
            score=_rounded(score.value),
            band=score.band,
            answered=score.answered,
            items=score.n_items,
            rci_from_previous=_rounded(from_previous.get(str(score.response.uuid))),
            rci_from_baseline=_rounded(rci_from_baseline),
            change_class=change_class,
            norms=norms,
            couple_label=score.couple.label if include_names else "",
            partner_name=partner.display_name if include_names else "",
        )


def csv_lines(rows: Iterable[ScoreRow], *, include_names: bool = False) -> Iterator[str]:
    """The rows as CSV text, formula injection defused; name columns only with names."""
    header = HEADER if include_names else HEADER[:-2]
    width = len(header)
    return csvsafe.lines(
        header,
        (
            [
                value.isoformat() if isinstance(value, date | datetime) else value
                for value in astuple(row)[:width]
            ]
            for row in rows
        ),
    )
