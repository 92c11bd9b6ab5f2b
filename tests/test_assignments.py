"""Assigning forms: once or on a schedule, pause/resume/cancel, reminders."""

from __future__ import annotations

import importlib
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import AssignmentStatus, Occurrence
from assessments.services import assignments as services
from assessments.services import responses as response_services
from clients.models import Couple, CoupleStatus, PortalState
from practice.models import AuditEvent
from tests.conftest import signed_in
from tests.factories import answer, assign, instrument, make_couple, open_form
from tests.test_api import api, token_for

TODAY = date(2026, 11, 25)


@pytest.fixture
def couple(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        couple.partners.update(portal_state=PortalState.ACTIVE)
    return couple


@pytest.mark.django_db
def test_assign_through_the_page_opens_the_first_occurrence(world, couple):
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/"
    page = client.get(url)
    assert "Connection Signs Inventory" in page.content.decode()
    with scope(practice=world.a.practice):
        signs = instrument("connection-signs")
    response = client.post(
        url,
        {
            "instrument": signs.pk,
            "who": "both",
            "first_due": str(timezone.localdate()),
            "repeat": "on",
            "repeat_every": 2,
            "repeat_unit": "weeks",
            "repeat_count": 4,
            "reminders": "on",
        },
    )
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        assignment = couple.assignments.get()
        assert (assignment.repeat_every, assignment.repeat_unit, assignment.repeat_count) == (
            2,
            "weeks",
            4,
        )
        occurrence = assignment.occurrences.get()
        assert (occurrence.sequence, occurrence.expected) == (1, 2)
        assert assignment.next_due == timezone.localdate() + timedelta(weeks=2)


@pytest.mark.django_db
def test_a_one_off_assignment_is_finished_only_when_its_form_is_closed(world, couple):
    """Its only form opens at once: until both have answered it can be paused or cancelled."""
    occurrence = open_form(couple)
    with scope(practice=world.a.practice):
        assignment = occurrence.assignment
        one, two = list(couple.partners.order_by("position"))
    page = signed_in(world.a.clinician).get(
        f"/p/{world.a.practice.slug}/couples/{couple.uuid}/", {"tab": "forms"}
    )
    assert ">Finished<" not in page.content.decode()

    def status():
        with scope(practice=world.a.practice):
            assignment.refresh_from_db()
            return assignment.status

    assert status() == AssignmentStatus.ACTIVE
    with scope(practice=world.a.practice):
        services.set_status(assignment, AssignmentStatus.PAUSED, actor=world.a.clinician)
        services.set_status(assignment, AssignmentStatus.ACTIVE, actor=world.a.clinician)
    first = answer(occurrence, one, {"pulse": 6})
    assert status() == AssignmentStatus.ACTIVE  # one partner still to answer
    answer(occurrence, two, {"pulse": 5})
    assert status() == AssignmentStatus.FINISHED
    with scope(practice=world.a.practice):
        response_services.reopen(first, actor=world.a.clinician)
    assert status() == AssignmentStatus.ACTIVE  # the form is open again
    with scope(practice=world.a.practice):
        response_services.submit(response_services.draft_for(occurrence, one))
    assert status() == AssignmentStatus.FINISHED
    with scope(practice=world.a.practice):
        events = list(
            AuditEvent.objects.filter(target_id=str(assignment.uuid)).values_list(
                "action", flat=True
            )
        )
    assert events.count("assignment.finished") == 2


@pytest.mark.django_db
def test_a_one_off_assignment_can_be_cancelled_while_its_form_is_open(world, couple):
    occurrence = open_form(couple)
    client = api(token_for(world.a.clinician, world.a.practice))
    url = f"/api/v1/p/{world.a.practice.slug}/assignments/{occurrence.assignment.uuid}/status/"
    paused = client.post(url, {"status": "paused"}, content_type="application/json")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    cancelled = client.post(url, {"status": "cancelled"}, content_type="application/json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    with scope(practice=world.a.practice):
        occurrence.refresh_from_db()
        assert occurrence.cancelled


@pytest.mark.django_db
def test_the_migration_reopens_finished_assignments_whose_last_form_is_open(world, couple):
    from django.apps import apps

    migration = importlib.import_module("assessments.migrations.0013_finished_means_closed")
    open_one = open_form(couple)
    done = open_form(couple, "connection-signs")
    closed_couple = make_couple(world.a.practice, world.a.clinician, label="Closed", n=7)
    in_closed = open_form(closed_couple)
    with scope(practice=world.a.practice):
        Occurrence.objects.filter(pk=done.pk).update(submitted=2)
        Couple.objects.filter(pk=closed_couple.pk).update(status=CoupleStatus.CLOSED)
        for occurrence in (open_one, done, in_closed):
            type(occurrence.assignment).objects.filter(pk=occurrence.assignment_id).update(
                status=AssignmentStatus.FINISHED
            )
    with scopes_disabled():
        migration.forwards(apps, None)
        statuses = {
            o.pk: type(o.assignment).objects.get(pk=o.assignment_id).status
            for o in (open_one, done, in_closed)
        }
    assert statuses == {
        open_one.pk: AssignmentStatus.ACTIVE,
        done.pk: AssignmentStatus.FINISHED,
        in_closed.pk: AssignmentStatus.FINISHED,
    }


@pytest.mark.django_db
def test_assign_form_errors_are_clear(world, couple):
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/"
    with scope(practice=world.a.practice):
        pulse = instrument("connection-pulse")
    no_end = client.post(
        url,
        {
            "instrument": pulse.pk,
            "who": "both",
            "first_due": str(timezone.localdate()),
            "repeat": "on",
            "repeat_every": 1,
        },
    )
    assert "Say when the repeats end" in no_end.content.decode()
    past = client.post(url, {"instrument": pulse.pk, "who": "both", "first_due": "2020-01-01"})
    assert "cannot be in the past" in past.content.decode()
    stranger = client.post(
        url,
        {"instrument": pulse.pk, "who": "not-a-partner", "first_due": str(timezone.localdate())},
    )
    assert "who" in stranger.context["form"].errors
    with scope(practice=world.a.practice):
        assert not couple.assignments.exists()


@pytest.mark.django_db
def test_a_closed_couple_cannot_be_assigned_work(world, couple):
    with scope(practice=world.a.practice):
        couple.status = CoupleStatus.CLOSED
        couple.save()
        pulse = instrument("connection-pulse")
    client = signed_in(world.a.clinician)
    response = client.post(
        f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/",
        {"instrument": pulse.pk, "who": "both", "first_due": str(timezone.localdate())},
    )
    assert response.status_code == 200
    assert "case is closed" in response.content.decode()
    with scope(practice=world.a.practice):
        assert not couple.assignments.exists()


@pytest.mark.django_db
def test_a_single_partner_assignment_expects_one_answer(world, couple):
    with scope(practice=world.a.practice):
        partner = couple.partners.get(position=2)
    assignment = assign(couple, "safety-screen", partner=partner)
    with scope(practice=world.a.practice):
        assert assignment.occurrences.get().expected == 1


@pytest.mark.django_db
def test_beat_opens_recurring_occurrences_until_the_count_and_skips_missed_dates(world, couple):
    with time_machine.travel(TODAY, tick=False):
        assignment = assign(
            couple, first_due=TODAY, recurrence=services.Recurrence(every=1, unit="weeks", count=3)
        )
        assert services.create_due_occurrences(TODAY) == 0  # next one not yet due
        assert services.create_due_occurrences(TODAY + timedelta(days=5)) == 1  # opens 2 days early
        assert services.create_due_occurrences(TODAY + timedelta(days=5)) == 0  # no duplicate
        assert services.create_due_occurrences(TODAY + timedelta(days=40)) == 1
        assert services.create_due_occurrences(TODAY + timedelta(days=80)) == 0
    with scope(practice=world.a.practice):
        assignment.refresh_from_db()
        dues = list(assignment.occurrences.order_by("sequence").values_list("sequence", "due_date"))
        assert dues == [(1, TODAY), (2, TODAY + timedelta(days=7)), (3, TODAY + timedelta(days=14))]
        assert assignment.status == AssignmentStatus.ACTIVE  # its last form is still open
        last = assignment.occurrences.get(sequence=3)
        one, two = list(couple.partners.order_by("position"))
    answer(last, one, {"pulse": 3})
    answer(last, two, {"pulse": 4})
    with scope(practice=world.a.practice):
        assignment.refresh_from_db()
        assert assignment.status == AssignmentStatus.FINISHED  # earlier misses do not hold it


@pytest.mark.django_db
def test_after_a_long_outage_only_the_latest_due_date_opens(world, couple):
    with time_machine.travel(TODAY, tick=False):
        assignment = assign(
            couple,
            first_due=TODAY,
            recurrence=services.Recurrence(
                every=1, unit="weeks", until=TODAY + timedelta(days=365)
            ),
        )
    assert services.create_due_occurrences(TODAY + timedelta(days=30)) == 1
    with scope(practice=world.a.practice):
        latest = assignment.occurrences.order_by("-sequence").first()
        assert latest.due_date == TODAY + timedelta(days=28)
        assert assignment.occurrences.count() == 2


@pytest.mark.django_db
def test_pause_resume_cancel(world, couple):
    assignment = assign(couple, recurrence=services.Recurrence(every=3, unit="days", count=5))
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/assignments/{assignment.uuid}/status/"
    client.post(url, {"status": "paused"})
    with scope(practice=world.a.practice):
        assignment.refresh_from_db()
        assert assignment.status == AssignmentStatus.PAUSED
    assert services.create_due_occurrences(timezone.localdate() + timedelta(days=30)) == 0
    client.post(url, {"status": "active"})
    client.post(url, {"status": "cancelled"})
    with scope(practice=world.a.practice):
        assignment.refresh_from_db()
        assert assignment.status == AssignmentStatus.CANCELLED
        assert assignment.occurrences.get().cancelled
    again = client.post(url, {"status": "active"}, follow=True)
    assert "cannot change that way" in again.content.decode()


@pytest.mark.django_db
def test_reminders_go_to_the_partner_who_has_not_answered_with_a_link_and_no_answers(world, couple):
    with time_machine.travel(TODAY, tick=False):
        assignment = assign(couple, first_due=TODAY + timedelta(days=1))
        with scope(practice=world.a.practice):
            one, two = couple.partners.order_by("position")
            answer(assignment.occurrences.get(), one, {"pulse": 9})
        mail.outbox.clear()
        assert services.send_reminders(TODAY) == 1
        assert services.send_reminders(TODAY) == 0  # once a day
    assert [m.to for m in mail.outbox] == [[two.email]]
    body = mail.outbox[0].body
    assert re.search(r"/portal/enter/\S+/", body)
    without_link = re.sub(r"\S+/portal/enter/\S+", "", body).replace("2026", "")
    assert "9" not in without_link  # no answers, not even the other partner's
    assert "due" in mail.outbox[0].subject.lower()


@pytest.mark.django_db
def test_overdue_reminders_every_three_days_a_few_times_and_never_to_revoked_partners(
    world, couple
):
    with time_machine.travel(TODAY, tick=False):
        assign(couple, first_due=TODAY)
    with scope(practice=world.a.practice):
        couple.partners.filter(position=2).update(portal_state=PortalState.REVOKED)
    sent = {day: services.send_reminders(TODAY + timedelta(days=day)) for day in range(1, 14)}
    assert {day for day, n in sent.items() if n} == {3, 6, 9}
    assert all(n == 1 for n in sent.values() if n)


@pytest.mark.django_db
def test_occurrence_totals_are_tracked_on_submission(world, couple):
    assignment = assign(couple)
    with scope(practice=world.a.practice):
        occurrence = assignment.occurrences.get()
        one, two = couple.partners.order_by("position")
        answer(occurrence, one, {"pulse": 6})
        occurrence.refresh_from_db()
        assert (occurrence.submitted, occurrence.is_complete) == (1, False)
        answer(occurrence, two, {"pulse": 5})
        occurrence = Occurrence.objects.get(pk=occurrence.pk)
        assert (occurrence.submitted, occurrence.is_complete) == (2, True)


@pytest.mark.django_db
def test_closing_a_case_cancels_open_forms_and_stops_reminders(world, couple):
    with time_machine.travel(TODAY, tick=False):
        assignment = assign(
            couple,
            first_due=TODAY + timedelta(days=1),
            recurrence=services.Recurrence(every=1, unit="weeks", count=4),
        )
        client = signed_in(world.a.clinician)
        client.post(
            f"/p/{world.a.practice.slug}/couples/{couple.uuid}/edit/",
            {"label": couple.label, "start_date": str(TODAY), "status": "closed"},
        )
        assert services.send_reminders(TODAY) == 0
    with scope(practice=world.a.practice):
        assignment.refresh_from_db()
        assert assignment.status == AssignmentStatus.FINISHED
        assert assignment.occurrences.get().cancelled
    assert services.create_due_occurrences(TODAY + timedelta(days=10)) == 0
