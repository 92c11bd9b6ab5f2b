"""How the audit log names reports, batches and whole-practice exports."""

from __future__ import annotations

from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _

from clients.access import couples_for
from practice.audit_names import by_uuid, named, register_couple_events, register_namer
from practice.models import Membership
from reports.access import visible_reports
from reports.models import PracticeExport, Report, ReportBatch


def _date(value: object) -> str:
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))  # type: ignore[arg-type]


def _reports(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = visible_reports(membership).select_related("couple")
    return named(
        by_uuid(rows, ids),
        lambda r: (
            _("%(kind)s for %(couple)s, %(start)s – %(end)s")
            % {
                "kind": r.get_kind_display(),
                "couple": r.couple.label,
                "start": _date(r.period_start),
                "end": _date(r.period_end),
            }
        ),
    )


def _batches(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = ReportBatch.objects.filter(practice=membership.practice)
    return named(
        by_uuid(rows, ids),
        lambda b: (
            _("%(kind)s batch, %(start)s – %(end)s")
            % {
                "kind": b.get_kind_display(),
                "start": _date(b.period_start),
                "end": _date(b.period_end),
            }
        ),
    )


def _exports(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = PracticeExport.objects.filter(practice=membership.practice)
    return named(
        by_uuid(rows, ids),
        lambda e: _("Whole-practice export of %(date)s") % {"date": _date(e.created_at)},
    )


def _couple_events(membership: Membership, couple_id: str) -> Q | None:
    couples = by_uuid(couples_for(membership), [couple_id])
    reports = Report.objects.filter(couple__in=couples).values_list("uuid", flat=True)
    found = [str(u) for u in reports]
    return Q(target_type="reports.report", target_id__in=found) if found else None


def register() -> None:
    register_namer("reports.report", _reports)
    register_namer("reports.reportbatch", _batches)
    register_namer("reports.practiceexport", _exports)
    register_couple_events(_couple_events)
