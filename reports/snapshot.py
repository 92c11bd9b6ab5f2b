"""Freezing what a report shows, at the moment it is rendered.

The couple version is built without item answers, private items, safety
content or (unless the practice allows it) per-partner numbers: what it may
not show is never in its snapshot, so no template mistake can leak it.
"""

from __future__ import annotations

import base64
import mimetypes
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation

from assessments import definition as defn
from assessments import results, stats
from assessments.alert_text import explain
from assessments.comparison import compare
from assessments.history import Pair, couple_history, couple_trend, instruments_with_scores
from assessments.models import (
    Alert,
    Instrument,
    Occurrence,
    Response,
    ResponseState,
    Score,
)
from assessments.presentation import answer_label
from assessments.scoring_rules import band_of
from assessments.services.change import norms_for
from clients.models import Couple, Partner
from reports import records, summary
from reports.models import Report, ReportKind

# 2: couple change words from the composite's reliable change, both horizons, gaps.
# 3: the couple version's summary (levels of areas, short check-ins answered).
SNAPSHOT_VERSION = 3
MAX_LOGO_BYTES = 512 * 1024
# The couple version leaves out scales with fewer shared items than this: each partner
# knows their own answers, so from a short scale's couple mean (or, with partners'
# totals on, from the other's total) they could work out the other's answers.
COUPLE_MIN_ITEMS = 3


def _bounds(report: Report) -> tuple[datetime, datetime]:
    tz = ZoneInfo(report.practice.timezone)
    return (
        datetime.combine(report.period_start, time.min, tzinfo=tz),
        datetime.combine(report.period_end, time.max, tzinfo=tz),
    )


def _logo(report: Report) -> str:
    logo = report.practice.logo
    if not logo:
        return ""
    try:
        with logo.open("rb") as handle:
            data = handle.read(MAX_LOGO_BYTES + 1)
    except OSError:
        return ""
    if len(data) > MAX_LOGO_BYTES:
        return ""
    mime = mimetypes.guess_type(logo.name)[0] or "image/png"  # type: ignore[arg-type]
    if mime not in {"image/png", "image/jpeg"}:
        return ""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _bands(instrument: Instrument, scale_key: str, language: str) -> list[records.Band]:
    for scale in instrument.definition["scales"]:
        if scale["key"] == scale_key:
            return [
                {
                    "low": b["min"],
                    "high": b["max"],
                    "label": instrument.band_label(scale_key, b["key"], language),
                }
                for b in scale.get("bands", [])
            ]
    return []


def _band_for(instrument: Instrument, scale_key: str, value: float | None, language: str) -> str:
    if value is None:
        return ""
    for scale in instrument.plan.scales:
        if scale.key == scale_key:
            return instrument.band_label(scale_key, band_of(value, scale.bands), language)
    return ""


def _submitted(since: datetime, until: datetime, **filters: Any) -> QuerySet[Response]:
    """Submitted responses in the report's period."""
    return Response.objects.filter(
        state=ResponseState.SUBMITTED, submitted_at__gte=since, submitted_at__lte=until, **filters
    )


def _latest_subscales(
    couple: Couple,
    partners: list[Partner],
    instrument: Instrument,
    until: datetime,
    since: datetime,
    language: str,
) -> list[records.Subscale]:
    subscales = [s for s in instrument.definition["scales"] if not s.get("total")]
    if not subscales:
        return []
    values: list[dict[str, float | None]] = []
    for partner in partners:
        latest = (
            _submitted(since, until, partner=partner, instrument__key=instrument.key)
            .order_by("-submitted_at")
            .first()
        )
        scores = (
            dict(Score.objects.filter(response=latest).values_list("scale", "value"))
            if latest
            else {}
        )
        values.append(scores)
    return [
        {
            "label": instrument.scale_label(s["key"], language),
            "values": [v.get(s["key"]) for v in values],
        }
        for s in subscales
    ]


def _shared_sizes(definition: dict[str, Any]) -> dict[str, int]:
    """Items per scale that may be shown at couple level (private ones do not count)."""
    shared = {item["link_id"] for item in results.shared_items(definition)}
    return {s["key"]: len(shared.intersection(s["items"])) for s in definition["scales"]}


def _agreement(
    couple: Couple,
    instrument: Instrument,
    since: datetime,
    until: datetime,
    language: str,
    with_items: bool,
) -> records.Agreement | None:
    """The latest occurrence in the period that both partners completed, compared."""
    occurrences = Occurrence.objects.filter(
        couple=couple,
        instrument__key=instrument.key,
        cancelled=False,
        submitted__gte=2,
    ).order_by("-due_date", "-created_at", "-pk")
    for occurrence in occurrences:
        # Answers that could not be scored are compared nowhere (as in the history).
        pair = list(
            _submitted(since, until, occurrence=occurrence, scoring_error="")
            .select_related("partner")
            .order_by("partner__position")
        )
        if len(pair) != 2:
            continue
        version = occurrence.instrument
        comparison = compare(version, pair)
        if comparison is None:
            return None
        default = version.definition["default_language"]
        texts = {
            item["link_id"]: (item, defn.localized(item["text"], language, default))
            for item in version.definition["items"]
        }
        sizes = _shared_sizes(version.definition)
        scales: list[records.ScaleAgreement] = [
            {
                "key": s.key,
                "label": version.scale_label(s.key, language),
                "total": s.key == comparison.total_key,
                "n_items": sizes[s.key],
                "mean": s.mean,
                "band": _band_for(version, s.key, s.mean, language),
            }
            for s in comparison.scales
        ]
        frozen: records.Agreement = {"date": _iso(occurrence.due_date), "scales": scales}
        if with_items:
            items: list[records.ItemAgreement] = [
                {
                    "text": texts[a.link_id][1],
                    "one": answer_label(version, texts[a.link_id][0], a.one, language),
                    "two": answer_label(version, texts[a.link_id][0], a.two, language),
                    "gap": a.gap,
                    "flagged": a.flagged,
                    "strength": a.strength,
                    "growth": a.growth,
                    "growth_reason": a.growth_reason.value if a.growth_reason else None,
                }
                for a in comparison.items
            ]
            frozen["items"] = items
            # With both answers beside it, a reverse-worded strength ("I keep my hopes
            # to myself", both disagreeing) reads the right way round.
            answered = {
                a.link_id: f"{row['one']} · {row['two']}"
                for a, row in zip(comparison.items, items, strict=True)
            }
            frozen["strengths"] = [
                {"text": texts[i][1], "answers": answered[i]} for i in comparison.strengths
            ]
            reasons = {a.link_id: a.growth_reason for a in comparison.items}
            frozen["growth"] = [
                {"text": texts[i][1], "answers": answered[i], "reason": _reason(reasons[i])}
                for i in comparison.growth_areas
            ]
        return frozen
    return None


def _reason(reason: results.Growth | None) -> str:
    return str(reason.value) if reason else ""


def _shared_partner_series(pairs: tuple[Pair, ...], position: int) -> list[records.Point]:
    """One partner's total on shared items only, at each occurrence both completed."""
    points: list[records.Point] = []
    for pair in pairs:
        value = pair.result.total.one if position == 1 else pair.result.total.two
        if value is not None:
            points.append(
                {"at": _iso(pair.one_at if position == 1 else pair.two_at), "value": value}
            )
    return points


def _reliable(change: stats.ReliableChange | None) -> records.ReliableChange | None:
    if change is None:
        return None
    return {
        "x1": change.x1,
        "x2": change.x2,
        "rci": change.rci,
        "change_class": change.change_class.value,
    }


def _couple_change(change: stats.CoupleChange, numbers: bool) -> records.CoupleChange:
    """The composite's change: always its word; its numbers only where numbers may show."""
    frozen: records.CoupleChange = {"word": change.word.value}
    if numbers:
        frozen.update({"first": change.first, "latest": change.latest, "rc": change.rc})
    return frozen


def _instrument(
    report: Report,
    couple: Couple,
    partners: list[Partner],
    instrument: Instrument,
    since: datetime,
    until: datetime,
) -> records.InstrumentRecord | None:
    language = report.language
    clinician = report.kind == ReportKind.CLINICIAN
    numbers = clinician or report.practice.couple_report_partner_totals
    total = instrument.total_key
    total_items = _shared_sizes(instrument.definition)[total]
    # The couple version never shows a scale this short, even as words: a one-item
    # total is that partner's answer.
    if not clinician and total_items < COUPLE_MIN_ITEMS:
        return None
    history = couple_history(couple, partners, instrument, since=since, until=until)
    if not history.has_data or history.couple is None:
        return None
    low, high = instrument.plan.scale_bounds(total)
    sub_bounds = {
        instrument.plan.scale_bounds(s["key"])
        for s in instrument.definition["scales"]
        if not s.get("total")
    }
    higher_is_better = instrument.direction(total) == "higher_is_better"
    trend = history.couple
    last = trend.points[-1] if trend.points else None
    couple_trend_record: records.CoupleTrend = {
        "numbers": numbers,
        "series": [{"at": _iso(p.at), "value": p.mean} for p in trend.points] if numbers else [],
        "latest_mean": last.mean if last and numbers else None,
        "latest_at": _iso(last.at) if last else None,
        "first_at": _iso(trend.points[0].at) if trend.points else None,
        "forms": len(trend.points),
        "band": _band_for(instrument, total, last.mean, language) if last and clinician else "",
        "since_start": _couple_change(trend.since_start, numbers),
        "since_previous": _couple_change(trend.since_previous, numbers),
        # A coarse level (strength, growth or neither) for the couple summary page.
        "level": summary.level(last.mean if last else None, low, high, higher_is_better),
    }
    frozen: records.InstrumentRecord = {
        "key": instrument.key,
        "title": instrument.text("title", language),
        "version": instrument.version,
        "scale_label": instrument.scale_label(total, language),
        "range": [low, high],
        "higher_is_better": higher_is_better,
        # Bands are the instrument author's labels: for clinicians. Couples read change
        # words from the composite's reliable change instead (docs/instruments.md).
        "bands": _bands(instrument, total, language) if clinician else [],
        "provenance": defn.provenance(instrument.definition),
        "has_published_norms": bool(instrument.definition.get("norms")),
        "practice_authored": bool(instrument.definition.get("practice_authored")),
        "validated": bool(instrument.definition.get("validated")),
        "n_items": len(instrument.definition["items"]),
        # Subscales are drawn side by side only when they share one range.
        "profile_range": list(sub_bounds.pop()) if len(sub_bounds) == 1 else None,
        "norms": history.changes[0].norms.record(),
        "couple": couple_trend_record,
    }
    if clinician:
        couple_trend_record["gap_series"] = [
            {"at": _iso(p.at), "value": p.gap} for p in trend.points
        ]
    agreement = _agreement(couple, instrument, since, until, language, with_items=clinician)
    if not clinician:
        couple_trend_record["subscales"] = _areas(
            couple, instrument, history.pairs, agreement, numbers
        )
    if clinician:
        frozen["partners"] = [
            {
                "series": [{"at": _iso(p.at), "value": p.value} for p in change.points],
                "reliable": sorted(change.reliable_points),
                "latest": change.points[-1].value if change.points else None,
                "band": _band_for(
                    instrument,
                    total,
                    change.points[-1].value if change.points else None,
                    language,
                ),
                "first": change.points[0].value if change.points else None,
                "rci": change.rci,
                "change_class": str(change.change_class or ""),
                "since_start": _reliable(change.since_start),
                "since_previous": _reliable(change.since_previous),
                "open_alert": _iso(change.open_alert) if change.open_alert else None,
            }
            for change in history.changes
        ]
    elif numbers:
        # Partners' own totals on shared items, from the forms both answered.
        shared_series = [_shared_partner_series(history.pairs, position) for position in (1, 2)]
        frozen["partners"] = [
            {
                "series": series,
                "reliable": [],
                "latest": series[-1]["value"] if series else None,
                "first": series[0]["value"] if series else None,
            }
            for series in shared_series
        ]
    if clinician:
        frozen["subscales"] = _latest_subscales(
            couple, partners, instrument, until, since, language
        )
        frozen["agreement"] = agreement
    return frozen


def _areas(
    couple: Couple,
    instrument: Instrument,
    pairs: tuple[Pair, ...],
    agreement: records.Agreement | None,
    numbers: bool,
) -> list[records.Area]:
    """The couple version's areas: subscales of enough shared items, as words and levels."""
    areas: list[records.Area] = []
    for s in agreement["scales"] if agreement else []:
        if s["total"] or s["n_items"] < COUPLE_MIN_ITEMS:
            continue
        area = couple_trend(
            list(pairs),
            s["key"],
            norms_for(instrument, s["key"], couple.practice),
            instrument.direction(s["key"]) == "higher_is_better",
        )
        area_low, area_high = instrument.plan.scale_bounds(s["key"])
        areas.append(
            {
                "key": s["key"],
                "label": s["label"],
                "mean": s["mean"] if numbers else None,
                "since_start": area.since_start.word.value,
                "level": summary.level(
                    s["mean"],
                    area_low,
                    area_high,
                    instrument.direction(s["key"]) == "higher_is_better",
                ),
            }
        )
    return areas


def _alerts(
    couple: Couple, partners: list[Partner], since: datetime, until: datetime, language: str
) -> list[records.AlertRecord]:
    """Alerts raised by the end of the period and not resolved before it began."""
    names = {p.pk: p.display_name for p in partners}
    alerts = list(
        Alert.objects.filter(couple=couple, created_at__lte=until)
        .exclude(status="resolved", resolved_at__lt=since)
        .select_related("partner")
        .order_by("severity", "-created_at")
    )
    keys = {alert.details.get("instrument") for alert in alerts} - {None}
    titles = {
        instrument.key: instrument.text("title", language)
        for instrument in Instrument.objects.filter(key__in=keys).order_by("version")
    }
    explain(alerts, language)
    return [
        {
            "kind": alert.kind,
            "instrument": titles.get(alert.details.get("instrument"), ""),
            "created": _iso(alert.created_at),
            "status": alert.status,
            "partner": names.get(alert.partner_id, ""),  # type: ignore[arg-type]
            "text": alert.explanation,  # type: ignore[attr-defined]
            "note": alert.resolution_note,
        }
        for alert in alerts
    ]


def _safety(
    couple: Couple, partners: list[Partner], since: datetime, until: datetime, language: str
) -> list[records.SafetyRecord]:
    names = {p.pk: p.display_name for p in partners}
    rows: list[records.SafetyRecord] = []
    # Only private instruments' answers are read (a year of weekly forms is many rows).
    private = [i.pk for i in Instrument.objects.only("pk", "definition") if i.is_private]
    responses = (
        _submitted(since, until, couple=couple, instrument_id__in=private)
        .select_related("instrument")
        .order_by("submitted_at")
    )
    for response in responses:
        instrument = response.instrument
        # The items the instrument's own alert rules matched: what raised an alert.
        matched = {
            link_id
            for hit in instrument.plan.score(response.answers).alerts
            for link_id in hit.items
        }
        default = instrument.definition["default_language"]
        positive = [
            defn.localized(item["text"], language, default)
            for item in instrument.definition["items"]
            if item["link_id"] in matched
        ]
        rows.append(
            {
                "partner": names.get(response.partner_id, ""),
                "date": _iso(response.submitted_at),  # type: ignore[arg-type]
                "title": instrument.text("title", language),
                "positive": positive,
            }
        )
    return rows


def _answered_together(
    couple: Couple, instrument: Instrument, since: datetime, until: datetime
) -> int:
    """How many times in the period both partners answered a short check-in (a count:
    its scores would show each partner the other's answer)."""
    return (
        Occurrence.objects.filter(
            couple=couple, instrument__key=instrument.key, cancelled=False, submitted__gte=2
        )
        .filter(responses__submitted_at__gte=since, responses__submitted_at__lte=until)
        .distinct()
        .count()
    )


def build(report: Report) -> records.Snapshot:
    """Everything the report will show, as plain JSON-ready data (see reports/records.py)."""
    couple = report.couple
    practice = report.practice
    partners = list(couple.partners.order_by("position"))
    since, until = _bounds(report)
    clinician = report.kind == ReportKind.CLINICIAN
    instruments: list[records.InstrumentRecord] = []
    check_ins: list[records.CheckIn] = []
    for instrument in instruments_with_scores(couple):
        frozen = _instrument(report, couple, partners, instrument, since, until)
        if frozen is not None:
            instruments.append(frozen)
        elif not clinician and not instrument.is_private:
            answered = _answered_together(couple, instrument, since, until)
            if answered:
                check_ins.append(
                    {"title": instrument.text("title", report.language), "forms": answered}
                )
    snapshot: records.Snapshot = {
        "version": SNAPSHOT_VERSION,
        "kind": report.kind,
        "language": report.language,
        "report": str(report.uuid),
        "generated_at": _iso(timezone.now()),
        "timezone": practice.timezone,
        "practice": {
            "name": practice.public_name,
            "accent": practice.accent_colour,
            "logo": _logo(report),
        },
        "couple": {"label": couple.label, "start_date": _iso(couple.start_date)},
        "clinicians": [c.full_name for c in couple.clinicians.order_by("full_name")],
        "period": {"start": _iso(report.period_start), "end": _iso(report.period_end)},
        "show_partners": clinician or practice.couple_report_partner_totals,
        "instruments": instruments,
    }
    if snapshot["show_partners"]:
        snapshot["partners"] = [p.display_name for p in partners]
    if not clinician:
        # Frozen in the report's language, like every other text in the snapshot.
        with translation.override(report.language):
            snapshot["summary"] = summary.build(instruments, check_ins)
    if clinician:
        # The thresholds in force, for the Methods section.
        snapshot["method"] = {
            "reliable": stats.RELIABLE,
            "large": stats.LARGE,
            "min_sample": stats.MIN_NORM_SAMPLE,
            "min_reliability": float(settings.MIN_RCI_RELIABILITY),
        }
        snapshot["alerts"] = _alerts(couple, partners, since, until, report.language)
        snapshot["safety"] = _safety(couple, partners, since, until, report.language)
    return snapshot
