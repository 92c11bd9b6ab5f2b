"""Practice outcome analytics on a real (small) practice: page, CSV and API agree with a
hand computation, suppression included, in a bounded number of queries.

The practice's own check-in has published norms: SD 2, reliability 0.8, clinical mean 4
(SD 1) and functional mean 6 (SD 1), so the cut-off is c = 5. A partner changes reliably
past 1.96 * sqrt(2) * 2 * sqrt(0.2) = 2.48 points; the couple average past 1.75.
"""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django_scopes import scope

from assessments.models import Instrument
from assessments.services import instruments as instrument_services
from practice.models import AuditEvent, Role
from tests.conftest import World, make_staff, module_db
from tests.conftest import signed_in_quickly as signed_in
from tests.factories import MembershipFactory, answer, make_couple, open_form

TODAY = datetime(2026, 7, 15, 12, tzinfo=UTC)
PERIOD = {"start": "2026-01-01", "end": "2026-06-30"}

DEFINITION = {
    "key": "check",
    "version": 1,
    "default_language": "en",
    "languages": ["en"],
    "title": {"en": "Closeness check"},
    "description": {"en": "One question."},
    "estimated_minutes": 1,
    "practice_authored": True,
    "validated": False,
    "citation": "Written by the practice for this test.",
    "licence": "CC BY 4.0",
    "direction": "higher_is_better",
    "items": [{"link_id": "q1", "type": "rating", "text": {"en": "How close do you feel?"}}],
    "scales": [
        {
            "key": "total",
            "label": {"en": "Closeness"},
            "items": ["q1"],
            "method": "mean",
            "min_answered": 1,
            "total": True,
        }
    ],
    "norms": {
        "total": {
            "mean": 5,
            "sd": 2,
            "reliability": 0.8,
            "n": 200,
            "source": "Made up for this test.",
            "clinical": {"mean": 4, "sd": 1},
            "functional": {"mean": 6, "sd": 1},
        }
    },
}

# Per couple: (baseline answers, follow-up answers, follow-up day per partner); None: never.
COUPLES = [
    ((4, 5), (8, 6), ("2026-03-01", "2026-03-01")),  # one recovered; composite recovered
    ((6, 6), (3, 9), ("2026-03-01", "2026-02-27")),  # one worse, one better: split
    ((7, 3), (7, 4), ("2026-03-01", "2026-03-01")),
    ((5, 5), (8, None), ("2026-03-04", None)),  # one recovered, late; the other never
    ((2, 2), (3, 1), ("2026-03-01", "2026-03-01")),
    ((5, 5), (None, None), (None, None)),  # clinician B's couple: stopped answering
]


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


@pytest.fixture(scope="module")
def shared(module_data_root, django_db_blocker):
    """Two practices and the analytics practice below, built once for the whole module."""
    with module_db(django_db_blocker, module_data_root):
        world = World(a=make_staff("Alpha"), b=make_staff("Bravo"))
        return world, build_practice_data(world)


@pytest.fixture
def private_root(module_data_root):
    return module_data_root


@pytest.fixture
def _copy(shared, db):
    """This test's own Python objects for the shared rows (tests/conftest.py says why)."""
    return copy.deepcopy(shared)


@pytest.fixture
def world(_copy):
    return _copy[0]


@pytest.fixture
def practice_data(_copy):
    return _copy[1]


def build_practice_data(world):
    practice = world.a.practice
    colleague = MembershipFactory(
        practice=practice, role=Role.CLINICIAN, user__full_name="Bea Colleague"
    ).user
    with scope(practice=practice):
        with time_machine.travel(at("2025-11-20"), tick=False):
            check = instrument_services.upload(
                practice=practice, actor=world.a.owner, definition=DEFINITION
            )
            instrument_services.publish(check, actor=world.a.owner)
        couples = []
        for n, (baseline, follow_up, days) in enumerate(COUPLES):
            clinician = world.a.clinician if n < 5 else colleague
            with time_machine.travel(at("2025-11-20"), tick=False):
                couple = make_couple(practice, clinician, label=f"Analytics {n}", n=n + 10)
            partners = list(couple.partners.order_by("position"))
            with time_machine.travel(at("2025-11-30"), tick=False):
                first = open_form(couple, "check", first_due=date(2025, 12, 1))
            with time_machine.travel(at("2025-12-01"), tick=False):
                for partner, value in zip(partners, baseline, strict=True):
                    answer(first, partner, {"q1": value})
            with time_machine.travel(at("2026-02-26"), tick=False):
                second = open_form(couple, "check", first_due=date(2026, 3, 1))
            for partner, value, day in zip(partners, follow_up, days, strict=True):
                if value is not None:
                    with time_machine.travel(at(day), tick=False):
                        answer(second, partner, {"q1": value})
            couples.append(couple)
    return practice, colleague, couples


EXPECTED_WHOLE = {
    "partners_followed": 9,
    "partners_recovered": 2,  # 4 -> 8 and 5 -> 8 both cross c = 5
    "partners_improved": 1,  # 6 -> 9
    "partners_unchanged": 5,
    "partners_deteriorated": 1,  # 6 -> 3
    "partner_median_change": 1.0,  # 4, 1, -3, 3, 0, 1, 3, 1, -1
    # Four couples have a composite follow-up (not the fourth, nor the sixth): too few.
    "couples_followed": None,
    "couples_recovered": None,
    "couple_median_change": None,
    "split_couples": None,
    "forms_due": 12,  # six follow-up forms, two partners each
    "forms_on_time": 8,  # all but the fourth couple's two and the sixth couple's two
    "dropout_eligible": 6,
    "dropped_out": 1,
    "suppressed": ["couples"],
}


def _api(client, practice, **params):
    return client.get(f"/api/v1/p/{practice.slug}/analytics/", params)


def _csv(client, practice, **params):
    response = client.get(f"/p/{practice.slug}/analytics/outcomes.csv", params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_the_owner_sees_the_hand_computed_numbers_on_page_csv_and_api(world, practice_data):
    practice, _colleague, _couples = practice_data
    owner = signed_in(world.a.owner)
    with time_machine.travel(TODAY, tick=False):
        payload = _api(owner, practice, **PERIOD).json()
        rows = _csv(owner, practice, **PERIOD)
        page = owner.get(f"/p/{practice.slug}/analytics/", PERIOD)
    (found,) = [item for item in payload["instruments"] if item["instrument"] == "check"]
    for name, value in EXPECTED_WHOLE.items():
        assert found[name] == value, name
    (row,) = [r for r in rows if r["instrument"] == "check"]
    for name, value in EXPECTED_WHOLE.items():
        expected = "" if value is None else str(value)
        if isinstance(value, list):
            expected = " ".join(value)
        elif isinstance(value, float):
            expected = str(value)
        assert row[name] == expected, name
    assert page.status_code == 200
    html = page.content.decode()
    assert "9 partners with a first score and a later one in the period" in html
    assert "8 of 12 forms due in the period" in html
    assert "1 of 6 couples with a later form due" in html
    assert "Not shown: fewer than 5 couples" in html


@pytest.mark.django_db
def test_a_clinician_sees_only_their_caseload_and_its_complement_is_hidden(world, practice_data):
    practice, colleague, _couples = practice_data
    mine = signed_in(world.a.clinician)
    theirs = signed_in(colleague)
    owner = signed_in(world.a.owner)
    with time_machine.travel(TODAY, tick=False):
        (a,) = _api(mine, practice, **PERIOD).json()["instruments"]
        (b,) = _api(theirs, practice, **PERIOD).json()["instruments"]
        (as_owner,) = _api(owner, practice, clinician=str(world.a.clinician.uuid), **PERIOD).json()[
            "instruments"
        ]
        # A clinician asking for a colleague's caseload is told it does not exist.
        other = _api(mine, practice, clinician=str(colleague.uuid), **PERIOD)
    # Couples 1-5 are A's: the partner numbers are the whole practice's.
    assert a["partners_followed"] == 9 and a["partners_recovered"] == 2
    # Forms: B's rest on one couple (hidden); A's on five, but the practice minus A would be
    # B's one couple, so A's are hidden too.
    assert a["forms_due"] is None and b["forms_due"] is None
    assert a["suppressed"] == ["couples", "forms"] and b["suppressed"] == ["forms"]
    # B's one couple has no partner with a follow-up: zero, which hides nobody.
    assert b["partners_followed"] == 0
    # The owner asking for A's caseload gets exactly what A gets.
    assert as_owner == a
    assert other.status_code == 404


@pytest.mark.django_db
def test_reads_are_audited_with_filters_and_no_client_data(world, practice_data):
    practice, _colleague, _couples = practice_data
    owner = signed_in(world.a.owner)
    with time_machine.travel(TODAY, tick=False):
        owner.get(f"/p/{practice.slug}/analytics/", PERIOD)
        _csv(owner, practice, **PERIOD)
        scores = owner.get(f"/p/{practice.slug}/analytics/scores.csv", PERIOD)
        text = b"".join(scores.streaming_content).decode()
    events = AuditEvent.objects.with_scopes_disabled().filter(action__startswith="analytics.")
    assert list(events.order_by("pk").values_list("action", flat=True)) == [
        "analytics.view",
        "analytics.export",
        "analytics.scores_export",
    ]
    assert all(e.details["period_start"] == "2026-01-01" for e in events)
    # The scores CSV holds every score of the couples in view: 6 couples, 21 scores.
    assert text.count("\r\n") == 1 + 21
    assert "Partner One" not in text  # no names unless asked for


@pytest.mark.django_db
def test_bad_periods_are_refused_with_a_clear_error(world, practice_data):
    practice, _colleague, _couples = practice_data
    owner = signed_in(world.a.owner)
    response = _api(owner, practice, start="2026-13-01")
    assert response.status_code == 400
    assert "start" in response.json()["error"]["fields"]
    response = _api(owner, practice, start="2026-06-01", end="2026-01-01")
    assert response.status_code == 400
    page = owner.get(f"/p/{practice.slug}/analytics/", {"start": "nonsense"})
    assert page.status_code == 200
    assert "Enter a date as YYYY-MM-DD." in page.content.decode()
    assert owner.get(f"/p/{practice.slug}/analytics/outcomes.csv", {"end": "x"}).status_code == 400


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_practice(
    world, practice_data, django_assert_num_queries
):
    from assessments.services import analytics as service

    practice, _colleague, _couples = practice_data
    filters = service.Filters(date(2026, 1, 1), date(2026, 6, 30))
    with scope(practice=practice):
        # couples and clinicians, instruments used, their newest versions, scores,
        # submissions, versions of the pairs, forms due; one norms lookup per instrument.
        with django_assert_num_queries(7):
            found = service.practice_outcomes(practice, filters, TODAY.date())
        assert [item.instrument.key for item in found] == ["check"]
        assert Instrument.objects.filter(key="check").count() == 1
