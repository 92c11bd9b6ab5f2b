"""The access modules: one read path per object type, cut to the couples a member may see.

Every ``visible_*`` hides another practice's rows and, for a clinician, a colleague's
couples' rows; every ``get_*`` answers 404 for them exactly as for an id that does not
exist. And nothing outside the access modules filters by ``couples_for`` itself.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.http import Http404
from django_scopes import scope

from assessments import access as assessment_access
from clients import access as client_access
from clients.models import Note
from practice.models import Role
from reports import access as report_access
from tests.factories import MembershipFactory

ROOT = Path(__file__).resolve().parent.parent
APPS = ["practice", "clients", "assessments", "reports", "demo"]
ACCESS_MODULES = {"clients/access.py", "assessments/access.py", "reports/access.py"}
# A row set cut by couples_for by hand: `couple__in=couples_for(...)` in any spelling.
BY_HAND = re.compile(r"couple(?:__\w+)?__in\s*=\s*couples_for\(")
CUT = re.compile(r"\bof_visible_couples\(")


def _rows(case):
    """(visible_* of the member, get_* of the member, the row of this case) per object type."""
    return [
        (client_access.visible_partners, None, case.partner_one),
        (client_access.visible_notes, None, case.note),
        (
            assessment_access.visible_assignments,
            assessment_access.get_assignment,
            case.occurrence.assignment,
        ),
        (
            assessment_access.visible_occurrences,
            assessment_access.get_occurrence,
            case.occurrence,
        ),
        (assessment_access.visible_responses, assessment_access.get_response, case.response),
        (assessment_access.visible_alerts, assessment_access.get_alert, case.alert),
        (report_access.visible_reports, report_access.get_report, case.report),
    ]


@pytest.fixture
def seen(world, cases):
    """Practice A's case file with a note, and a clinician colleague with no couples."""
    practice = world.a.practice
    colleague = MembershipFactory(
        practice=practice, role=Role.CLINICIAN, user__email="colleague@alpha.test"
    )
    with scope(practice=practice):
        cases.a.note = Note.objects.create(
            practice=practice, couple=cases.a.couple, author=world.a.clinician, body="Met today."
        )
    with scope(practice=world.b.practice):
        cases.b.note = Note.objects.create(
            practice=world.b.practice,
            couple=cases.b.couple,
            author=world.b.clinician,
            body="Met today.",
        )
    return cases, colleague


@pytest.mark.django_db
def test_members_see_their_practices_rows_and_clinicians_only_their_own_couples(world, seen):
    cases, colleague = seen
    owner = world.a.membership(world.a.owner)
    clinician = world.a.membership(world.a.clinician)
    with scope(practice=world.a.practice):
        assert list(client_access.couples_for(owner)) == [cases.a.couple]
        assert list(client_access.couples_for(clinician)) == [cases.a.couple]
        assert list(client_access.couples_for(colleague)) == []
        for visible, get, row in _rows(cases.a):
            name = visible.__name__
            assert row in visible(owner), name
            assert row in visible(clinician), name
            # Another practice's row of the same kind, and a colleague's couple's.
            assert not visible(owner).filter(uuid=_row_of(cases.b, name).uuid).exists(), name
            assert not visible(colleague).exists(), name
            if get is None:
                continue
            assert get(owner, row.uuid) == row
            assert get(clinician, str(row.uuid)) == row
            for member, row_id in (
                (owner, _row_of(cases.b, name).uuid),
                (colleague, row.uuid),
                (owner, uuid.uuid4()),
                (owner, "not-a-uuid"),
            ):
                with pytest.raises(Http404):
                    get(member, row_id)


def _row_of(case, name):
    return next(row for visible, _get, row in _rows(case) if visible.__name__ == name)


@pytest.mark.django_db
def test_get_joins_only_the_relations_asked_for(world, seen, django_assert_num_queries):
    cases, _colleague = seen
    owner = world.a.membership(world.a.owner)
    with scope(practice=world.a.practice):
        with django_assert_num_queries(1):
            occurrence = assessment_access.get_occurrence(
                owner, cases.a.occurrence.uuid, select=("instrument", "couple")
            )
            assert occurrence.instrument.key and occurrence.couple.label
        with django_assert_num_queries(2):
            alert = assessment_access.get_alert(owner, cases.a.alert.uuid)
            assert alert.couple.label


def test_only_the_access_modules_cut_rows_by_couples_for():
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if "migrations" in path.parts or relative in ACCESS_MODULES:
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in (BY_HAND, CUT):
                offenders += [f"{relative}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_the_check_would_notice():
    assert BY_HAND.search("Alert.objects.filter(couple__in=couples_for(membership))")
    assert BY_HAND.search("rows.filter(occurrence__couple__in = couples_for(m))")
    assert not BY_HAND.search("visible_alerts(membership).filter(kind='safety')")
