"""Charts for a report, drawn from its frozen snapshot with the dashboard's chart code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from assessments import charts
from assessments.history import COUPLE_STYLE, month_abbreviations


def _points(series: list[dict[str, Any]]) -> list[tuple[Any, float]]:
    return [(datetime.fromisoformat(p["at"]).date(), p["value"]) for p in series]


def build(snapshot: dict[str, Any]) -> dict[str, dict[str, str]]:
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
            y_range=tuple(instrument["range"]),
            y_label=instrument["scale_label"],
            x_label=_("Date answered"),
            bands=bands,
            reliable_label=_("reliable change from the previous score"),
            width=6.6,
            height=3.3,
            months=months,
            higher_is_better=instrument.get("higher_is_better", True),
        )
        low, high = instrument["range"]
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
        subscales = instrument.get("subscales") or couple.get("subscales") or []
        if subscales and instrument.get("profile_range"):
            if "subscales" in instrument:
                values = [[s["values"][i] for s in subscales] for i in range(len(names))]
                legend = names
            else:
                values = [[s["mean"] for s in subscales]]
                legend = [_("Couple average")]
            drawn[instrument["key"]]["profile"] = charts.profile_svg(
                title=_("%(title)s: areas") % {"title": instrument["title"]},
                scales=[s["label"] for s in subscales],
                values=values,
                names=legend,
                x_range=tuple(instrument["profile_range"]),
                x_label=_("Score"),
                width=6.6,
            )
    return drawn
