"""Charts for a report, drawn from its frozen snapshot with the dashboard's chart code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from assessments import charts
from assessments.history import month_abbreviations


def _points(series: list[dict[str, Any]]) -> list[tuple[Any, float]]:
    return [(datetime.fromisoformat(p["at"]).date(), p["value"]) for p in series]


def build(snapshot: dict[str, Any]) -> dict[str, dict[str, str]]:
    """SVGs per instrument key: ``trend`` (partners or couple), ``profile`` (subscales)."""
    drawn: dict[str, dict[str, str]] = {}
    names = snapshot.get("partners", [])
    months = month_abbreviations()
    for instrument in snapshot["instruments"]:
        bands = [charts.Band(b["low"], b["high"], b["label"]) for b in instrument["bands"]]
        if "partners" in instrument:
            series = [
                charts.Series(name, _points(p["series"]), frozenset(p.get("reliable", [])))
                for name, p in zip(names, instrument["partners"], strict=False)
            ]
        else:
            series = []
        if snapshot["kind"] == "couple":
            series.append(
                charts.Series(_("Couple average"), _points(instrument["couple"]["series"]))
            )
        banded = instrument["couple"].get("banded", False)
        trend = charts.history_svg(
            title=instrument["title"],
            series=series,
            y_range=tuple(instrument["range"]),  # type: ignore[arg-type]
            y_label="" if banded else instrument["scale_label"],
            numeric_axis=not banded,
            x_label=_("Date answered"),
            bands=bands,
            reliable_label=_("reliable change from the previous score"),
            width=6.6,
            height=3.3,
            months=months,
        )
        drawn[instrument["key"]] = {"trend": trend}
        subscales = instrument.get("subscales") or instrument["couple"].get("subscales") or []
        if banded:
            subscales = []  # band names in the table say it; bars would show exact means
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
                x_range=tuple(instrument["profile_range"]),  # type: ignore[arg-type]
                x_label=_("Score"),
                width=6.6,
            )
    return drawn
