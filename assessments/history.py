"""Score histories of a couple, as data and as charts (shared by pages and PDF reports)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from assessments import charts
from assessments.models import Instrument, InstrumentStatus, Score
from assessments.services.change import Change, Point, partner_change
from clients.models import Couple, Partner

CHART_CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class History:
    instrument: Instrument
    scale: str
    scale_label: str
    changes: list[Change]  # one per partner, in partner order

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


def couple_history(
    couple: Couple,
    partners: list[Partner],
    instrument: Instrument,
    scale: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> History:
    """Each partner's series on a scale (the total by default), with change statistics."""
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
        by_partner[partner_id].append(Point(at, value, str(uuid)))
    changes = [
        partner_change(partner, instrument, scale, by_partner.get(partner.pk, []))
        for partner in partners
    ]
    language = "en"
    return History(instrument, scale, instrument.scale_label(scale, language), changes)


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
        )
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return svg
