"""Protocols: owners define a schedule of forms, clinicians apply it to one couple or many."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import Assignment, Protocol, ProtocolApplication
from assessments.services import protocols as services
from clients.models import CoupleStatus
from practice.models import AuditEvent
from tests.conftest import signed_in
from tests.factories import make_couple

STEPS = [
    # Intake at the start, then the pulse weekly, the full battery every six weeks.
    {"instrument": "everyday-bond", "start_after": 0, "start_unit": "weeks", "every": None,
     "unit": "weeks", "count": None},
    {"instrument": "connection-pulse", "start_after": 1, "start_unit": "weeks", "every": 1,
     "unit": "weeks", "count": 12},
    {"instrument": "connection-signs", "start_after": 6, "start_unit": "weeks", "every": 6,
     "unit": "weeks", "count": 3},
]  # fmt: skip


def step_data(steps=STEPS) -> dict[str, str]:
    data = {"steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": "0"}
    for index, step in enumerate(steps):
        for name, value in step.items():
            data[f"steps-{index}-{name}"] = "" if value is None else str(value)
    return data


@pytest.fixture
def protocol(world) -> Protocol:
    with scope(practice=world.a.practice):
        return Protocol.objects.create(
            practice=world.a.practice, name="Standard course", steps=STEPS
        )


@pytest.mark.django_db
def test_an_owner_defines_a_protocol_through_the_page(world):
    owner = signed_in(world.a.owner)
    url = f"/p/{world.a.practice.slug}/protocols/new/"
    assert owner.get(url).status_code == 200
    # Repeating without saying how many times is refused, with the place named.
    bad = {**step_data(), "steps-1-count": "", "name": "Standard course", "action": "save"}
    response = owner.post(url, bad)
    assert response.status_code == 400
    assert "how many times" in response.content.decode()
    response = owner.post(url, {**step_data(), "name": "Standard course", "action": "save"})
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        saved = Protocol.objects.get(name="Standard course")
    assert saved.steps == STEPS
    listing = owner.get(f"/p/{world.a.practice.slug}/protocols/").content.decode()
    assert "Connection Pulse, after 1 week, every week, 12 times" in listing
    assert "Connection Signs Inventory, after 6 weeks, every 6 weeks, 3 times" in listing


@pytest.mark.django_db
def test_clinicians_apply_but_do_not_define(world, protocol):
    clinician = signed_in(world.a.clinician)
    assert clinician.get(f"/p/{world.a.practice.slug}/protocols/new/").status_code == 404
    assert clinician.get(f"/p/{world.a.practice.slug}/protocols/").status_code == 200


@pytest.mark.django_db
def test_applying_to_many_couples_from_the_caseload_is_one_action_and_idempotent(world, protocol):
    couples = [
        make_couple(world.a.practice, world.a.clinician, label=f"C{n}", n=n) for n in range(3)
    ]
    client = signed_in(world.a.clinician)
    caseload = client.get(f"/p/{world.a.practice.slug}/").content.decode()
    assert 'form="bulk-protocol"' in caseload and "Standard course" in caseload
    start = timezone.localdate()
    data = {
        "protocol": protocol.pk,
        "start": start.isoformat(),
        "couple": [str(c.uuid) for c in couples],
    }
    url = f"/p/{world.a.practice.slug}/protocols/apply/"
    assert client.post(url, data).status_code == 302
    # The same submission again (a double click) changes nothing.
    again = client.post(url, data, follow=True)
    assert "Already applied from that date" in again.content.decode()
    with scope(practice=world.a.practice):
        for couple in couples:
            assignments = Assignment.objects.filter(couple=couple)
            assert assignments.count() == 3
            assert {a.protocol_application.protocol_id for a in assignments} == {protocol.pk}
            pulse = assignments.get(instrument__key="connection-pulse")
            assert pulse.first_due == start + timedelta(weeks=1)
            assert (pulse.repeat_every, pulse.repeat_count) == (1, 12)
            battery = assignments.get(instrument__key="connection-signs")
            assert battery.first_due == start + timedelta(weeks=6)
        assert ProtocolApplication.objects.count() == 3
    with scopes_disabled():
        applied = AuditEvent.objects.filter(action="protocol.apply")
        assert applied.count() == 3
        assert {e.target_id for e in applied} == {str(c.uuid) for c in couples}


@pytest.mark.django_db
def test_a_couple_outside_the_caseload_stops_the_whole_action(world, protocol):
    mine = make_couple(world.a.practice, world.a.clinician, label="Mine", n=1)
    theirs = make_couple(world.b.practice, world.b.clinician, label="Theirs")
    client = signed_in(world.a.clinician)
    response = client.post(
        f"/p/{world.a.practice.slug}/protocols/apply/",
        {
            "protocol": protocol.pk,
            "start": timezone.localdate().isoformat(),
            "couple": [str(mine.uuid), str(theirs.uuid)],
        },
    )
    assert response.status_code == 404
    with scopes_disabled():
        assert not Assignment.objects.exists()
    # Nor can another practice's protocol be named.
    other = signed_in(world.b.clinician)
    response = other.post(
        f"/p/{world.b.practice.slug}/protocols/apply/",
        {"protocol": protocol.pk, "start": timezone.localdate().isoformat(),
         "couple": [str(theirs.uuid)]},
    )  # fmt: skip
    assert response.status_code == 302
    with scopes_disabled():
        assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_a_closed_couple_is_refused_and_the_others_go_ahead(world, protocol):
    open_one = make_couple(world.a.practice, world.a.clinician, label="Open")
    closed = make_couple(world.a.practice, world.a.clinician, label="Closed", n=1)
    with scope(practice=world.a.practice):
        closed.status = CoupleStatus.CLOSED
        closed.save()
        outcome = services.apply(
            protocol, [open_one, closed], start=timezone.localdate(), actor=world.a.clinician
        )
        assert outcome.applied == [open_one]
        assert [c for c, _ in outcome.refused] == [closed]
        assert not Assignment.objects.filter(couple=closed).exists()
        assert not ProtocolApplication.objects.filter(couple=closed).exists()


@pytest.mark.django_db
def test_the_couple_page_shows_the_schedule_as_a_timeline(world, protocol):
    couple = make_couple(world.a.practice, world.a.clinician)
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/protocol/"
    start = timezone.localdate()
    response = client.post(url, {"protocol": protocol.pk, "start": start.isoformat()})
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        entries = services.timeline(couple, start)
    # Intake today; the pulse weekly from week 1; the battery at weeks 6, 12 (within 120 days).
    pulse = [e.due for e in entries if e.title == "Connection Pulse"]
    assert pulse == [start + timedelta(weeks=w) for w in range(1, 13)]
    battery = [e.due for e in entries if e.title == "Connection Signs Inventory"]
    assert battery == [start + timedelta(weeks=6), start + timedelta(weeks=12)]
    assert entries[0].due == start and entries[0].protocol == "Standard course"
    page = client.get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/?tab=forms")
    page = page.content.decode()
    assert 'class="timeline"' in page
    assert page.count('class="timeline-day') == len({e.due for e in entries})


@pytest.mark.django_db
def test_several_forms_assigned_at_once_on_one_schedule(world):
    from tests.factories import instrument

    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        pulse, signs = instrument("connection-pulse"), instrument("connection-signs")
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/"
    page = client.get(url).content.decode()
    assert 'type="checkbox" name="instrument"' in page
    assert 'data-shown-by="id_repeat"' in page
    response = client.post(
        url,
        {
            "instrument": [pulse.pk, signs.pk],
            "who": "both",
            "first_due": timezone.localdate().isoformat(),
            "repeat": "on",
            "repeat_every": 1,
            "repeat_unit": "weeks",
            "repeat_count": 4,
        },
        follow=True,
    )
    assert "2 forms assigned" in response.content.decode()
    assert "every week" in response.content.decode()
    assert "every 1 weeks" not in response.content.decode()
    with scope(practice=world.a.practice):
        assert couple.assignments.count() == 2


def test_repeat_labels_are_plural_aware():
    from django.utils import translation

    from assessments.models import repeat_label

    assert repeat_label(1, "weeks") == "every week"
    assert repeat_label(2, "weeks") == "every 2 weeks"
    assert repeat_label(1, "days") == "every day"
    with translation.override("ru"):
        assert repeat_label(2, "weeks") == "каждые 2 недели"
        assert repeat_label(5, "weeks") == "каждые 5 недель"


@pytest.mark.django_db
def test_the_timeline_leaves_old_answered_forms_to_the_history(world):
    from tests.factories import answer, assign

    couple = make_couple(world.a.practice, world.a.clinician)
    today = timezone.localdate()
    with scope(practice=world.a.practice):
        one, two = list(couple.partners.order_by("position"))
    old = assign(couple, first_due=today)
    waiting = assign(couple, "connection-signs", first_due=today)
    with scope(practice=world.a.practice):
        occurrence = old.occurrences.get()
        answer(occurrence, one, {"pulse": 6})
        answer(occurrence, two, {"pulse": 7})
        later = today + timedelta(days=60)
        titles = [e.title for e in services.timeline(couple, later)]
        # Sixty days on: the answered pulse is history; the unanswered form still shows.
        assert titles == ["Connection Signs Inventory"]
        assert waiting.occurrences.get().due_date == today
        assert [e.done for e in services.timeline(couple, today)] == [True, False]
