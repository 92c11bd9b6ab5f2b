"""What an alert says to a clinician, rendered from its ``details`` in the reader's language.

Alerts store keys and numbers, never sentences, so the text follows the
reader's language and the wording can improve without touching old rows.
Alerts raised before their details held everything (only an RCI, say) still
read sensibly: each sentence falls back to what is there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assessments.models import Alert, AlertKind, Instrument
from assessments.templatetags.assessments_tags import rci, score
from clients.models import Partner


def _number(value: Any) -> str:
    """A score as shown everywhere else: up to two decimals, localized."""
    return score(None if value is None else float(value))


def _rci(value: Any) -> str:
    return rci(None if value is None else float(value))


class Describer:
    """Texts for a batch of alerts, with the instruments and partners they need fetched once."""

    def __init__(self, alerts: Iterable[Alert], language: str) -> None:
        alerts = list(alerts)
        self.language = language
        keys = {a.details.get("instrument") for a in alerts} - {None}
        self.instruments: dict[str, Instrument] = {}
        # The newest version names the measure; older alerts keep their key.
        for instrument in Instrument.objects.filter(key__in=keys).order_by("version"):
            self.instruments[instrument.key] = instrument
        couples = {a.couple_id for a in alerts if a.kind == AlertKind.SPLIT}
        self.names: dict[str, str] = {
            str(uuid): name
            for uuid, name in Partner.objects.filter(couple_id__in=couples).values_list(
                "uuid", "display_name"
            )
        }

    def title(self, details: Mapping[str, Any]) -> str:
        instrument = self.instruments.get(details.get("instrument", ""))
        if instrument is None:
            return str(details.get("instrument", ""))
        return instrument.text("title", self.language)

    def measure(self, details: Mapping[str, Any]) -> str:
        """The instrument and, when the alert names it, the scale: "Title · Scale"."""
        title = self.title(details)
        instrument = self.instruments.get(details.get("instrument", ""))
        scale = details.get("scale")
        if instrument is None or not scale:
            return title
        return f"{title} · {instrument.scale_label(scale, self.language)}"

    def text(self, alert: Alert) -> str:
        d = alert.details or {}
        kind = alert.kind
        if kind == AlertKind.SAFETY:
            return _(
                "A partner answered yes on the private safety check-in. Follow up with them "
                "individually and safely, not in a joint session."
            )
        if kind == AlertKind.CLINICAL:
            if d.get("instrument"):
                return _("An answer on %(title)s met the form's clinical flag rule.") % {
                    "title": self.title(d)
                }
            return _("An answer met a clinical flag rule of the form.")
        if kind == AlertKind.DETERIORATION:
            return self._deterioration(alert, d)
        if kind == AlertKind.SPLIT:
            return self._split(d)
        if kind == AlertKind.DISAGREEMENT:
            return self._disagreement(d)
        if kind == AlertKind.OVERDUE:
            due = parse_date(str(d.get("due_date", "")))
            when = date_format(due, "SHORT_DATE_FORMAT") if due else str(d.get("due_date", ""))
            if d.get("instrument"):
                return _("%(title)s, due on %(date)s, has not been completed.") % {
                    "title": self.title(d),
                    "date": when,
                }
            return _("A form due on %(date)s has not been completed.") % {"date": when}
        if kind == AlertKind.SCORING:
            return _(
                "A submitted form (%(title)s) could not be scored, so its scores and any alerts "
                "they would raise are missing. The answers are kept. The couple page shows when "
                "scoring is tried again."
            ) % {"title": self.title(d)}
        return ""

    def _deterioration(self, alert: Alert, d: Mapping[str, Any]) -> str:
        name = alert.partner.display_name if alert.partner else _("A partner")
        values = {
            "measure": self.measure(d),
            "name": name,
            "x1": _number(d.get("x1")),
            "x2": _number(d.get("x2")),
            "rci": _rci(d.get("rci")),
            "previous": _number(d.get("previous")),
            "previous_rci": _rci(d.get("previous_rci")),
            "reliable": _number(d.get("reliable", 1.96)),
            "threshold": _number(d.get("threshold")),
        }
        if d.get("rule") == "confirmed":
            return (
                _(
                    "%(measure)s: %(name)s %(x1)s → %(x2)s, RCI %(rci)s, after %(previous)s "
                    "(RCI %(previous_rci)s) on the form before: reliably worse than the first "
                    "score on two forms in a row (reliable change needs |RCI| > %(reliable)s)."
                )
                % values
            )
        if d.get("rule") == "large":
            return (
                _(
                    "%(measure)s: %(name)s %(x1)s → %(x2)s, RCI %(rci)s: past %(threshold)s on "
                    "one form, too large to wait for the next (reliable change needs "
                    "|RCI| > %(reliable)s)."
                )
                % values
            )
        # Raised before alerts carried their rule: only the RCI is known.
        if d.get("instrument"):
            return _("%(measure)s: a reliable worsening of the score (RCI %(rci)s).") % values
        return _("A reliable worsening of the score (RCI %(rci)s).") % values

    def _split(self, d: Mapping[str, Any]) -> str:
        partners = {p.get("position"): p for p in d.get("partners", [])}
        improved = partners.get(d.get("improved"), {})
        worse = next((p for pos, p in partners.items() if pos != d.get("improved")), {})  # type: ignore[var-annotated]
        values = {
            "measure": self.measure(d),
            "better": self.names.get(improved.get("partner", ""), _("one partner")),
            "b1": _number(improved.get("x1")),
            "b2": _number(improved.get("x2")),
            "b_rci": _rci(improved.get("rci")),
            "worse": self.names.get(worse.get("partner", ""), _("the other")),
            "w1": _number(worse.get("x1")),
            "w2": _number(worse.get("x2")),
            "w_rci": _rci(worse.get("rci")),
            "reliable": _number(d.get("threshold", 1.96)),
        }
        if d.get("rule") == "since_previous":
            return (
                _(
                    "%(measure)s, between the last two forms: %(better)s reliably better "
                    "(%(b1)s → %(b2)s, RCI %(b_rci)s) while %(worse)s reliably worse "
                    "(%(w1)s → %(w2)s, RCI %(w_rci)s); reliable change needs "
                    "|RCI| > %(reliable)s."
                )
                % values
            )
        return (
            _(
                "%(measure)s, since each partner's first score: %(better)s reliably better "
                "(%(b1)s → %(b2)s, RCI %(b_rci)s) while %(worse)s reliably worse "
                "(%(w1)s → %(w2)s, RCI %(w_rci)s); reliable change needs |RCI| > %(reliable)s."
            )
            % values
        )

    def _disagreement(self, d: Mapping[str, Any]) -> str:
        rule = str(d.get("rule", ""))
        title = self.title(d)
        parts = []
        if "totals" in rule:
            parts.append(
                _(
                    "the totals are %(gap)s apart on a range of %(range)s (a quarter of the "
                    "range or more counts)"
                )
                % {"gap": _number(d.get("total_gap")), "range": _number(d.get("total_range"))}
            )
        if "items" in rule:
            parts.append(
                ngettext(
                    "%(n)d of %(of)d item is at least half its answer range apart (%(needed)d "
                    "or more count)",
                    "%(n)d of %(of)d items are at least half their answer range apart "
                    "(%(needed)d or more count)",
                    int(d.get("flagged_items", 0)),
                )
                % {
                    "n": int(d.get("flagged_items", 0)),
                    "of": int(d.get("n_items", 0)),
                    "needed": int(d.get("items_needed", 0)),
                }
            )
        if parts:
            return _("%(title)s: the partners' answers are far apart: %(why)s.") % {
                "title": title,
                "why": _("; ").join(parts),
            }
        # Raised before alerts said which rule fired: the share of the range, or the items.
        share = d.get("total_gap_share")
        if share is not None and float(share) >= 0.25:
            return _("%(title)s: the partners' totals are %(percent)s%% of the range apart.") % {
                "title": title,
                "percent": _number(round(float(share) * 100)),
            }
        n = int(d.get("flagged_items", 0))
        return ngettext(
            "%(title)s: the partners' answers are far apart (%(n)d item with a large gap).",
            "%(title)s: the partners' answers are far apart (%(n)d items with a large gap).",
            n,
        ) % {"title": title, "n": n}


def explain(alerts: Iterable[Alert], language: str) -> list[Alert]:
    """The alerts, each with ``explanation`` set; two queries whatever their number."""
    alerts = list(alerts)
    describer = Describer(alerts, language)
    for alert in alerts:
        alert.explanation = describer.text(alert)  # type: ignore[attr-defined]
    return alerts
