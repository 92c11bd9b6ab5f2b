"""The nightly jobs walk their rows practice by practice in bounded batches (issue 14)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django_scopes import scope, scopes_disabled

from assessments.models import Alert, AlertKind, Assignment, CaseloadSummary, Occurrence
from assessments.services import alerts
from assessments.services import assignments as services
from clients.models import PortalState
from practice import batches
from tests.factories import assign, make_couple

TODAY = date(2026, 11, 25)


@pytest.fixture
def weekly(world):
    """Three couples in practice A and two in B, each with a weekly pulse first due today."""
    couples = [make_couple(world.a.practice, world.a.clinician, f"A{n}", n=n) for n in range(3)]
    couples += [make_couple(world.b.practice, world.b.clinician, f"B{n}", n=n) for n in range(2)]
    with time_machine.travel(TODAY, tick=False):
        for couple in couples:
            with scope(practice=couple.practice):
                couple.partners.update(portal_state=PortalState.ACTIVE)
            assign(
                couple,
                first_due=TODAY,
                recurrence=services.Recurrence(every=1, unit="weeks", count=4),
            )
    return couples


@pytest.mark.django_db
def test_batches_cover_every_row_once_per_practice_in_bounded_keyset_order(world, weekly):
    seen = []
    for practice, ids in batches.practice_batches(Assignment.objects.all, batch=2):
        assert 1 <= len(ids) <= 2
        assert ids == sorted(ids)
        # Inside the practice's scope: the scoped manager sees this practice's rows only.
        assert set(Assignment.objects.filter(pk__in=ids).values_list("practice_id", flat=True)) == {
            practice.pk
        }
        seen.append((practice.pk, ids))
    assert [len(ids) for _, ids in seen] == [2, 1, 2]
    with scopes_disabled():
        assert sorted(pk for _, ids in seen for pk in ids) == sorted(
            Assignment.objects.values_list("pk", flat=True)
        )


@pytest.mark.django_db
def test_batched_jobs_do_each_row_once_and_refresh_the_caseload_rows(world, weekly):
    # Every couple's second form opens (two days early), in batches of two, once.
    assert services.create_due_occurrences(TODAY + timedelta(days=5), batch=2) == 5
    assert services.create_due_occurrences(TODAY + timedelta(days=5), batch=2) == 0
    with scopes_disabled():
        assert (
            Occurrence.objects.filter(sequence=2, due_date=TODAY + timedelta(days=7)).count() == 5
        )
        assert set(CaseloadSummary.objects.values_list("open_last_due", flat=True)) == {
            TODAY + timedelta(days=7)
        }
    # The first forms are three days late: both partners of each couple are reminded, once.
    mail.outbox.clear()
    assert services.send_reminders(TODAY + timedelta(days=3), batch=2) == 10
    assert services.send_reminders(TODAY + timedelta(days=3), batch=2) == 0
    assert len({m.to[0] for m in mail.outbox}) == 10
    # One overdue alert per late form, each couple's row counting it.
    assert alerts.raise_overdue_alerts(TODAY + timedelta(days=3), batch=2) == 5
    assert alerts.raise_overdue_alerts(TODAY + timedelta(days=3), batch=2) == 0
    with scopes_disabled():
        assert Alert.objects.filter(kind=AlertKind.OVERDUE).count() == 5
        assert set(CaseloadSummary.objects.values_list("alert_count", flat=True)) == {1}


@pytest.mark.django_db
def test_a_run_killed_while_emailing_leaves_the_unclaimed_forms_for_the_next_run(
    world, weekly, monkeypatch
):
    # Claims go a chunk at a time: a worker killed while sending loses at most the
    # chunk in hand; the forms after it are still unclaimed and the next run sends them.
    monkeypatch.setattr(services, "SEND_CHUNK", 2)
    late = TODAY + timedelta(days=3)
    sent_to: list[str] = []

    def send(**kwargs):
        if len(sent_to) == 3:  # the second partner of the second form
            raise SystemExit("worker killed")
        sent_to.append(kwargs["to"])

    monkeypatch.setattr(services.mail, "send", send)
    with pytest.raises(SystemExit):
        services.send_reminders(late)
    with scopes_disabled():
        claimed = Occurrence.objects.filter(last_reminded_on=late).count()
    assert claimed == 2  # the first chunk of practice A's three forms
    monkeypatch.setattr(services.mail, "send", lambda **kwargs: sent_to.append(kwargs["to"]))
    assert services.send_reminders(late) == 6  # A's third form, then B's two
    assert len(sent_to) == 9 == len(set(sent_to))  # nobody twice; one partner lost
