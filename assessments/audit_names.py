"""How the audit log names forms, answers, alerts and instruments (titles and dates only)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _

from assessments.access import (
    visible_alerts,
    visible_assignments,
    visible_occurrences,
    visible_responses,
)
from assessments.models import Alert, Assignment, Instrument, Occurrence, Response
from clients.access import couples_for
from practice.audit_names import by_uuid, named, register_couple_events, register_namer
from practice.models import Membership


def _date(value: object) -> str:
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))  # type: ignore[arg-type]


def _responses(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = visible_responses(membership).select_related("instrument", "partner", "couple")
    return named(
        by_uuid(rows, ids),
        lambda r: (
            _("%(form)s answered by %(name)s of %(couple)s")
            % {"form": r.instrument.title, "name": r.partner.display_name, "couple": r.couple.label}
        ),
    )


def _occurrences(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = visible_occurrences(membership).select_related("instrument", "couple")
    return named(
        by_uuid(rows, ids),
        lambda o: (
            _("%(form)s due %(date)s, %(couple)s")
            % {"form": o.instrument.title, "date": _date(o.due_date), "couple": o.couple.label}
        ),
    )


def _assignments(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = visible_assignments(membership).select_related("instrument", "couple")
    return named(
        by_uuid(rows, ids),
        lambda a: (
            _("%(form)s for %(couple)s") % {"form": a.instrument.title, "couple": a.couple.label}
        ),
    )


def _alerts(membership: Membership, ids: list[str]) -> dict[str, str]:
    rows = visible_alerts(membership).select_related("couple")
    return named(
        by_uuid(rows, ids),
        lambda a: (
            _("Alert for %(couple)s: %(kind)s")
            % {"kind": a.get_kind_display(), "couple": a.couple.label}
        ),
    )


def _instruments(membership: Membership, ids: list[str]) -> dict[str, str]:
    # Built-ins (no practice) and this practice's own: what its Forms page lists.
    rows = Instrument.objects.filter(Q(practice=membership.practice) | Q(practice__isnull=True))
    return named(
        by_uuid(rows, ids),
        lambda i: _("%(title)s, version %(version)s") % {"title": i.title, "version": i.version},
    )


def _couple_events(membership: Membership, couple_id: str) -> Q | None:
    couple = by_uuid(couples_for(membership), [couple_id]).first()
    if couple is None:
        return None

    def ids(model: type) -> list[str]:
        return [str(u) for u in model.objects.filter(couple=couple).values_list("uuid", flat=True)]  # type: ignore[attr-defined]

    return (
        Q(target_type="assessments.response", target_id__in=ids(Response))
        | Q(target_type="assessments.occurrence", target_id__in=ids(Occurrence))
        | Q(target_type="assessments.assignment", target_id__in=ids(Assignment))
        | Q(target_type="assessments.alert", target_id__in=ids(Alert))
    )


def register() -> None:
    register_namer("assessments.response", _responses)
    register_namer("assessments.occurrence", _occurrences)
    register_namer("assessments.assignment", _assignments)
    register_namer("assessments.alert", _alerts)
    register_namer("assessments.instrument", _instruments)
    register_couple_events(_couple_events)
