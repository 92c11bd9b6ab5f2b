"""Emails that leave through the worker survive a dead broker: each waits as a database row
(the outbox) that a sweeper sends once the broker is back, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope
from kombu.exceptions import OperationalError

from assessments import tasks as assessment_tasks
from assessments.models import Alert, AlertKind
from reports import services as report_services
from reports import tasks as report_tasks
from reports.models import Report, ReportKind
from tests.conftest import signed_in
from tests.factories import SAFE_ANSWERS, answer, make_couple, open_form


def broker_down(*args, **kwargs):
    raise OperationalError("connection refused")


@pytest.fixture
def couple(world):
    return make_couple(world.a.practice, world.a.clinician)


@pytest.mark.django_db
def test_a_safety_alert_raised_with_the_broker_down_is_mailed_once_when_it_is_back(
    world, couple, monkeypatch
):
    with scope(practice=world.a.practice):
        one = couple.partners.get(position=1)
    monkeypatch.setattr(assessment_tasks.notify_alert, "apply_async", broker_down)
    answer(open_form(couple, "safety-screen", partner=one), one, {**SAFE_ANSWERS, "ss02": 1})
    with scope(practice=world.a.practice):
        alert = Alert.objects.get(kind=AlertKind.SAFETY)
    assert alert.notified_at is None and mail.outbox == []
    monkeypatch.undo()
    assert assessment_tasks.sweep_alert_emails() == 0  # still inside its grace period
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert assessment_tasks.sweep_alert_emails() == 1
        assert assessment_tasks.sweep_alert_emails() == 0
    assert [m.to for m in mail.outbox] == [[world.a.clinician.email]]
    with scope(practice=world.a.practice):
        assert Alert.objects.get(pk=alert.pk).notified_at is not None
        # A late duplicate of the task sends nothing more.
        assessment_tasks.notify_alert(practice_id=alert.practice_id, alert_id=alert.pk)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_release_made_with_the_broker_down_is_announced_once_when_it_is_back(
    world, couple, monkeypatch
):
    with scope(practice=world.a.practice), TestCase.captureOnCommitCallbacks(execute=True):
        report = report_services.request_report(
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=timezone.localdate() - timedelta(days=30),
            period_end=timezone.localdate(),
            actor=world.a.clinician,
        )
    with scope(practice=world.a.practice):
        emails = []
        for partner in couple.partners.all():
            partner.portal_state = "active"
            partner.save()
            emails.append(partner.email)
    monkeypatch.setattr(report_tasks.notify_release, "apply_async", broker_down)
    client = signed_in(world.a.clinician)
    with TestCase.captureOnCommitCallbacks(execute=True):
        released = client.post(
            f"/p/{world.a.practice.slug}/reports/{report.uuid}/action/", {"action": "release"}
        )
    assert released.status_code == 302
    with scope(practice=world.a.practice):
        stored = Report.objects.get(pk=report.pk)
    assert stored.released_at is not None and stored.release_notified_at is None
    assert mail.outbox == []
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert report_tasks.requeue_stale_reports() == 1
        assert report_tasks.requeue_stale_reports() == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(emails)
    with scope(practice=world.a.practice):
        assert Report.objects.get(pk=report.pk).release_notified_at is not None
        report_tasks.notify_release(practice_id=report.practice_id, report_id=report.pk)
    assert len(mail.outbox) == 2
