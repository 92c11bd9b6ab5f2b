"""Score histories of a couple, as data and as charts (shared by pages and PDF reports)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from assessments import charts, comparison, results, stats
from assessments.models import (
    Alert,
    AlertKind,
    AlertStatus,
    Instrument,
    InstrumentStatus,
    Response,
    ResponseState,
    Score,
)
from assessments.services.change import Change, NormsInfo, Point, norms_for, partner_change
from clients.models import Couple, Partner

CHART_CACHE_SECONDS = 24 * 60 * 60
# Couple lines (the composite, the gap) are drawn in the third, grey, dotted style.
COUPLE_STYLE = 2


@dataclass(frozen=True)
class Pair:
    """One occurrence both partners completed, compared on shared items only."""

    at: datetime  # the later of the two submissions
    one_at: datetime
    two_at: datetime
    result: results.CoupleResult


@dataclass(frozen=True)
class CouplePoint:
    at: datetime
    one: float  # each partner's score on the shared items
    two: float

    @property
    def mean(self) -> float:
        """The couple composite."""
        return (self.one + self.two) / 2

    @property
    def gap(self) -> float:
        return abs(self.one - self.two)


@dataclass(frozen=True)
class CoupleTrend:
    """The couple composite over time, with its reliable change over both horizons."""

    points: list[CouplePoint]
    norms: NormsInfo
    since_start: stats.CoupleChange
    since_previous: stats.CoupleChange


@dataclass(frozen=True)
class History:
    instrument: Instrument
    scale: str
    scale_label: str
    changes: list[Change]  # one per partner, in partner order
    couple: CoupleTrend | None = None  # None for a private screen
    pairs: tuple[Pair, ...] = ()

    @property
    def has_data(self) -> bool:
        return any(change.points for change in self.changes)


def month_abbreviations() -> list[str]:
    """The twelve short month names in the active language, for chart axes."""
    return [date_format(date(2000, month, 1), "M") for month in range(1, 13)]


def instruments_with_scores(couple: Couple, include_private: bool = False) -> list[Instrument]:
    """The newest version of each instrument this couple has scores for.

    Private screens (the safety check-in) are left out unless asked for: they
    are read item by item, not as a trend.
    """
    keys = (
        Score.objects.filter(couple=couple, is_total=True)
        .values_list("instrument_key", flat=True)
        .distinct()
    )
    newest: dict[str, Instrument] = {}
    candidates = (
        Instrument.objects.filter(key__in=list(keys))
        .exclude(status=InstrumentStatus.DRAFT)
        .order_by("key", "-version")
    )
    for instrument in candidates:
        if include_private or not instrument.is_private:
            newest.setdefault(instrument.key, instrument)
    return sorted(newest.values(), key=lambda i: (i.key != "connection-pulse", i.title))


def couple_pairs(
    couple: Couple, instrument: Instrument, since: datetime | None, until: datetime | None
) -> list[Pair]:
    """Each occurrence both partners completed in the period, compared on shared items.

    Couple-level numbers come from here, never from the stored scores: those count
    private items, and a private answer must not move anything the couple sees.
    """
    # Answers that could not be scored (see Response.scoring_error) are compared nowhere.
    rows = Response.objects.filter(
        couple=couple,
        instrument__key=instrument.key,
        state=ResponseState.SUBMITTED,
        scoring_error="",
    )
    if since is not None:
        rows = rows.filter(submitted_at__gte=since)
    if until is not None:
        rows = rows.filter(submitted_at__lte=until)
    by_occurrence: dict[int, list[Response]] = {}
    for response in rows.order_by("occurrence_id", "partner__position").only(
        "occurrence", "instrument", "submitted_at", "answers", "state", "scoring_error"
    ):
        by_occurrence.setdefault(response.occurrence_id, []).append(response)
    complete = [pair for pair in by_occurrence.values() if len(pair) == 2]
    versions = Instrument.objects.in_bulk({pair[0].instrument_id for pair in complete})
    pairs = []
    for one, two in complete:
        result = comparison.compare(versions[one.instrument_id], (one, two))
        one_at, two_at = one.submitted_at, two.submitted_at
        if result is not None and one_at is not None and two_at is not None:
            pairs.append(Pair(max(one_at, two_at), one_at, two_at, result))
    return sorted(pairs, key=lambda pair: pair.at)


def couple_trend(
    pairs: list[Pair], scale: str, norms: NormsInfo, higher_is_better: bool
) -> CoupleTrend:
    """The composite (mean of the two partners on shared items) and its reliable change."""
    points = []
    for pair in pairs:
        compared = next((s for s in pair.result.scales if s.key == scale), None)
        if compared is not None and compared.one is not None and compared.two is not None:
            points.append(CouplePoint(pair.at, compared.one, compared.two))
    means = [point.mean for point in points]
    measurable = norms.norms is not None or norms.waiting
    return CoupleTrend(
        points,
        norms,
        *(
            stats.couple_change(
                means, horizon, norms.norms, higher_is_better, measurable=measurable
            )
            for horizon in (stats.Horizon.START, stats.Horizon.PREVIOUS)
        ),
    )


def _open_deterioration(
    couple: Couple, instrument: Instrument, scale: str, until: datetime | None
) -> dict[int, datetime]:
    """When each partner's unresolved deterioration alert on this measure was raised."""
    alerts = Alert.objects.filter(
        couple=couple, kind=AlertKind.DETERIORATION, details__instrument=instrument.key
    ).exclude(status=AlertStatus.RESOLVED)
    if until is not None:
        alerts = alerts.filter(created_at__lte=until)
    raised: dict[int, datetime] = {}
    for partner_id, created_at, details in alerts.order_by("created_at").values_list(
        "partner_id", "created_at", "details"
    ):
        # Alerts raised before they named a scale were about the total.
        if partner_id is not None and details.get("scale", instrument.total_key) == scale:
            raised.setdefault(partner_id, created_at)
    return raised


def couple_history(
    couple: Couple,
    partners: list[Partner],
    instrument: Instrument,
    scale: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> History:
    """Each partner's series on a scale (the total by default) with change statistics,
    the couple composite beside them, and any open deterioration alert per partner."""
    scale = scale or instrument.total_key
    rows = Score.objects.filter(
        couple=couple, instrument_key=instrument.key, scale=scale, value__isnull=False
    )
    if since is not None:
        rows = rows.filter(submitted_at__gte=since)
    if until is not None:
        rows = rows.filter(submitted_at__lte=until)
    by_partner: dict[int, list[Point]] = defaultdict(list)
    for partner_id, at, value, uuid in rows.order_by("submitted_at").values_list(
        "partner_id", "submitted_at", "value", "response__uuid"
    ):
        by_partner[partner_id].append(Point(at, value, str(uuid)))  # type: ignore[arg-type]
    info = norms_for(instrument, scale, couple.practice)
    open_alerts = _open_deterioration(couple, instrument, scale, until)
    changes = [
        replace(
            partner_change(partner, instrument, scale, by_partner.get(partner.pk, []), info),
            open_alert=open_alerts.get(partner.pk),
        )
        for partner in partners
    ]
    language = "en"
    trend = None
    pairs: list[Pair] = []
    if not instrument.is_private:
        pairs = couple_pairs(couple, instrument, since, until)
        higher_is_better = instrument.direction(scale) == "higher_is_better"
        trend = couple_trend(pairs, scale, info, higher_is_better)
    return History(
        instrument,
        scale,
        instrument.scale_label(scale, language),
        changes,
        trend,
        tuple(pairs),
    )


def chart_svg(history: History, language: str = "en") -> str:
    """The history as an SVG line chart; cached by its content."""
    instrument = history.instrument
    low, high = instrument.plan.scale_bounds(history.scale)
    bands = []
    for scale in instrument.definition["scales"]:
        if scale["key"] == history.scale:
            bands = [
                charts.Band(
                    b["min"], b["max"], instrument.band_label(history.scale, b["key"], language)
                )
                for b in scale.get("bands", [])
            ]
    tz = timezone.get_current_timezone()
    series = [
        charts.Series(
            change.partner.display_name,
            [(point.at.astimezone(tz).date(), point.value) for point in change.points],
            change.reliable_points,
        )
        for change in history.changes
    ]
    if history.couple is not None and history.couple.points:
        series.append(
            charts.Series(
                _("Couple average (shared questions)"),
                [(p.at.astimezone(tz).date(), p.mean) for p in history.couple.points],
                style=COUPLE_STYLE,
            )
        )
    title = instrument.text("title", language)
    if history.scale != instrument.total_key:
        title = f"{title}: {history.scale_label}"
    fingerprint = hashlib.sha256(
        repr(
            (
                instrument.pk,
                instrument.digest,
                history.scale,
                title,
                series,
                bands,
                language,
                # Axis labels and month names follow the reader's interface language.
                get_language(),
            )
        ).encode()
    ).hexdigest()
    key = f"chart:history:{fingerprint}"
    svg = cache.get(key)
    if svg is None:
        svg = charts.history_svg(
            title=title,
            series=series,
            y_range=(low, high),
            y_label=_("Score"),
            x_label=_("Date answered"),
            bands=bands,
            reliable_label=_("reliable change from the previous score"),
            months=month_abbreviations(),
            higher_is_better=instrument.direction(history.scale) == "higher_is_better",
        )
        cache.set(key, svg, CHART_CACHE_SECONDS)
        if history.changes:
            _remember_chart(history.changes[0].partner.couple_id, key)
    return svg


def gap_chart_svg(history: History, language: str = "en") -> str:
    """How far apart the partners were at each form both answered; cached by content."""
    if history.couple is None or not history.couple.points:
        return ""
    low, high = history.instrument.plan.scale_bounds(history.scale)
    tz = timezone.get_current_timezone()
    title = _("Gap between the partners: %(title)s") % {
        "title": history.instrument.text("title", language)
    }
    points = [(p.at.astimezone(tz).date(), p.gap) for p in history.couple.points]
    fingerprint = hashlib.sha256(
        repr((history.instrument.pk, history.scale, title, points, get_language())).encode()
    ).hexdigest()
    key = f"chart:gap:{fingerprint}"
    svg = cache.get(key)
    if svg is None:
        svg = charts.history_svg(
            title=title,
            series=[charts.Series(_("Points apart"), points, style=COUPLE_STYLE)],
            y_range=(0.0, high - low),
            y_label=_("Points apart"),
            x_label=_("Date answered"),
            height=2.4,
            months=month_abbreviations(),
        )
        cache.set(key, svg, CHART_CACHE_SECONDS)
        if history.changes:
            _remember_chart(history.changes[0].partner.couple_id, key)
    return svg


def _chart_index(couple_id: int) -> str:
    return f"chart:couple:{couple_id}"


def _remember_chart(couple_id: int, key: str) -> None:
    """Keep the keys of a couple's cached charts (they show names) so they can be dropped."""
    keys = cache.get(_chart_index(couple_id)) or []
    if key not in keys:
        cache.set(_chart_index(couple_id), [*keys, key][-200:], CHART_CACHE_SECONDS)


def forget_charts(couple_id: int) -> int:
    """Drop a couple's cached charts (on erasure). Returns how many were cached."""
    keys = cache.get(_chart_index(couple_id)) or []
    cache.delete_many([*keys, _chart_index(couple_id)])
    return len(keys)
