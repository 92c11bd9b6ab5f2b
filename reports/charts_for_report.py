"""Charts for a report, drawn from its frozen snapshot with the dashboard's chart code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from assessments import charts
from assessments.history import COUPLE_STYLE, month_abbreviations
from reports.records import Point, Snapshot


def _points(series: list[Point]) -> list[tuple[Any, float]]:
    return [(datetime.fromisoformat(p["at"]).date(), p["value"]) for p in series]


def build(snapshot: Snapshot) -> dict[str, dict[str, str]]:
    """SVGs per instrument key: ``trend`` (partners and the couple average), ``gap``
    (how far apart the partners were; clinician version) and ``profile`` (subscales).

    Where the couple version may show no numbers it gets no charts at all: a line
    on a known range would give the couple average away, and from it and their own
    answers each partner could work out the other's.
    """
    drawn: dict[str, dict[str, str]] = {}
    names = snapshot.get("partners", [])
    months = month_abbreviations()
    for instrument in snapshot["instruments"]:
        couple = instrument["couple"]
        drawn[instrument["key"]] = {}
        if not couple.get("numbers", True):
            continue
        low, high = instrument["range"]
        bands = [charts.Band(b["low"], b["high"], b["label"]) for b in instrument["bands"]]
        series = [
            charts.Series(name, _points(p["series"]), frozenset(p.get("reliable", [])))
            for name, p in zip(names, instrument.get("partners", []), strict=False)
        ]
        if couple["series"]:
            series.append(
                charts.Series(
                    _("Couple average (shared questions)"),
                    _points(couple["series"]),
                    style=COUPLE_STYLE,
                )
            )
        drawn[instrument["key"]]["trend"] = charts.history_svg(
            title=instrument["title"],
            series=series,
            y_range=(low, high),
            y_label=instrument["scale_label"],
            x_label=_("Date answered"),
            bands=bands,
            reliable_label=_("reliable change from the previous score"),
            width=6.6,
            height=3.3,
            months=months,
            higher_is_better=instrument.get("higher_is_better", True),
        )
        if couple.get("gap_series"):
            drawn[instrument["key"]]["gap"] = charts.history_svg(
                title=_("Gap between the partners: %(title)s") % {"title": instrument["title"]},
                series=[
                    charts.Series(
                        _("Points apart"), _points(couple["gap_series"]), style=COUPLE_STYLE
                    )
                ],
                y_range=(0.0, high - low),
                y_label=_("Points apart"),
                x_label=_("Date answered"),
                width=6.6,
                height=2.3,
                months=months,
            )
        profile_range = instrument.get("profile_range")
        if not profile_range:
            continue
        if "subscales" in instrument:
            # Clinician version: each partner's latest score on each subscale.
            scales = [(s["label"], s["values"]) for s in instrument["subscales"]]
            values = [[v[i] for _label, v in scales] for i in range(len(names))]
            legend = names
        else:
            # Couple version: the couple average on each area long enough to show.
            scales = [(a["label"], [a["mean"]]) for a in couple.get("subscales", [])]
            values = [[v[0] for _label, v in scales]]
            legend = [_("Couple average")]
        if scales:
            profile_low, profile_high = profile_range
            drawn[instrument["key"]]["profile"] = charts.profile_svg(
                title=_("%(title)s: areas") % {"title": instrument["title"]},
                scales=[label for label, _values in scales],
                values=values,
                names=legend,
                x_range=(profile_low, profile_high),
                x_label=_("Score"),
                width=6.6,
            )
    return drawn
