"""Readable audit rows: what each recorded id is called, for the person reading the log.

The log lives in the practice app, below the domain apps, so each app registers how
to name its own records and which events concern a couple (the way it registers its
actions). A namer is given the reader's membership and returns names only for
records that member may see; anything it leaves out stays an id. Names are staff
data and couple labels (what the couple page shows): never answers or notes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from practice.models import ApiToken, AuditEvent, Membership, Practice, StaffInvitation, User

# (membership, ids) -> {id: name}, for the ids the member may see.
Namer = Callable[[Membership, list[str]], dict[str, str]]
# (membership, couple id) -> the events that concern that couple, or None.
CoupleEvents = Callable[[Membership, str], Q | None]
# membership -> [(couple id, label)] the member may filter by.
CoupleChoices = Callable[[Membership], list[tuple[str, str]]]

PARTNER_PREFIX = "partner:"
_NAMERS: dict[str, Namer] = {}
_COUPLE_EVENTS: list[CoupleEvents] = []
_COUPLE_CHOICES: list[CoupleChoices] = []


def register_namer(target_type: str, namer: Namer) -> None:
    """Name one model's records (``app_label.modelname``, as events store it)."""
    _NAMERS[target_type] = namer


def register_couple_events(events: CoupleEvents) -> None:
    _COUPLE_EVENTS.append(events)


def register_couple_choices(choices: CoupleChoices) -> None:
    _COUPLE_CHOICES.append(choices)


def couple_choices(membership: Membership) -> list[tuple[str, str]]:
    return [choice for provider in _COUPLE_CHOICES for choice in provider(membership)]


def couple_filter(membership: Membership, couple_id: str) -> Q:
    """Events about one couple and everything of theirs; none when it is not the member's."""
    combined = Q(pk__in=[])
    for provider in _COUPLE_EVENTS:
        found = provider(membership, couple_id)
        if found is not None:
            combined |= found
    return combined


def by_uuid(queryset: QuerySet[Any], ids: Iterable[str]) -> QuerySet[Any]:
    """The rows whose uuid is among ids (ids that are not uuids are ignored)."""
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    return queryset.filter(uuid__in=valid)


def names_for(membership: Membership, events: list[AuditEvent]) -> None:
    """Set ``actor_name`` and ``target_name`` on each event ('' when it stays an id)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.target_type and event.target_id:
            wanted[event.target_type].add(event.target_id)
        if event.actor_label.startswith(PARTNER_PREFIX):
            wanted["clients.partner"].add(event.actor_label.removeprefix(PARTNER_PREFIX))
    found: dict[tuple[str, str], str] = {}
    for target_type, ids in wanted.items():
        namer = _NAMERS.get(target_type)
        if namer is None:
            continue
        for key, name in namer(membership, sorted(ids)).items():
            found[(target_type, key)] = name
    for event in events:
        event.target_name = found.get((event.target_type, event.target_id), "")  # type: ignore[attr-defined]
        if event.actor is not None:
            event.actor_name = event.actor.full_name  # type: ignore[attr-defined]
        elif event.actor_label.startswith(PARTNER_PREFIX):
            partner = found.get(
                ("clients.partner", event.actor_label.removeprefix(PARTNER_PREFIX)), ""
            )
            event.actor_name = _("%(partner)s (partner)") % {"partner": partner} if partner else ""  # type: ignore[attr-defined]
        else:
            event.actor_name = ""  # type: ignore[attr-defined]


def named(rows: Iterable[Model], name: Callable[[Any], str]) -> dict[str, str]:
    return {str(row.uuid): name(row) for row in rows}  # type: ignore[attr-defined]


# The practice app's own records: its members, tokens, invitations and itself.
register_namer(
    "practice.user",
    lambda m, ids: named(
        by_uuid(User.objects.filter(memberships__practice=m.practice), ids), lambda u: u.full_name
    ),
)
register_namer(
    "practice.membership",
    lambda m, ids: named(
        by_uuid(Membership.objects.filter(practice=m.practice).select_related("user"), ids),
        lambda ms: _("%(name)s's membership") % {"name": ms.user.full_name},
    ),
)
register_namer(
    "practice.practice",
    lambda m, ids: named(
        by_uuid(Practice.objects.filter(pk=m.practice.pk), ids), lambda p: p.public_name
    ),
)
register_namer(
    "practice.apitoken",
    lambda m, ids: named(
        by_uuid(ApiToken.objects.filter(practice=m.practice).select_related("user"), ids),
        lambda t: (
            _("API token “%(token)s” of %(name)s") % {"token": t.name, "name": t.user.full_name}
        ),
    ),
)
register_namer(
    "practice.staffinvitation",
    lambda m, ids: named(
        by_uuid(StaffInvitation.objects.filter(practice=m.practice), ids),
        lambda i: _("Invitation for %(name)s") % {"name": i.full_name},
    ),
)
