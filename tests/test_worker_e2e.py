"""The real path: a Celery worker process, the configured broker, the real database.

These run on whatever DATABASE_URL and CELERY_BROKER_URL say; CI runs them on
PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import Alert, AlertKind, Response, Score
from assessments.services import responses, scoring
from assessments.tasks import sweep_unscored
from tests.conftest import signed_in
from tests.factories import SAFE_ANSWERS, answer, instrument, make_couple, open_form
from tests.test_portal import portal_client
from tests.worker import real_broker, running_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def submit_via_api(client: Client, occurrence_uuid, answers: dict) -> None:
    base = f"/api/v1/portal/forms/{occurrence_uuid}/"
    saved = client.patch(base + "answers/", {"answers": answers}, content_type="application/json")
    assert saved.status_code == 200, saved.content
    submitted = client.post(base + "submit/")
    assert submitted.status_code == 201, submitted.content


def scored(response_ids) -> bool:
    with scopes_disabled():
        return Response.objects.filter(pk__in=response_ids, scored_at__isnull=False).count() == len(
            response_ids
        )


def test_assign_answer_score_and_alert_through_a_real_worker(world, tmp_path):
    log = tmp_path / "worker.log"
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
        signs, safety = instrument("connection-signs"), instrument("safety-screen")
    clinician = signed_in(world.a.clinician)
    assign_url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/"
    today = str(timezone.localdate())
    assert (
        clinician.post(
            assign_url, {"instrument": signs.pk, "who": "both", "first_due": today}
        ).status_code
        == 302
    )
    assert (
        clinician.post(
            assign_url, {"instrument": safety.pk, "who": str(one.uuid), "first_due": today}
        ).status_code
        == 302
    )
    with scope(practice=world.a.practice):
        signs_form = couple.occurrences.get(instrument=signs)
        safety_form = couple.occurrences.get(instrument=safety)

    with running_worker(log) as worker:
        partner_one, partner_two = portal_client(one), portal_client(two)
        submit_via_api(partner_one, signs_form.uuid, {f"cs{i:02d}": 5 for i in range(1, 13)})
        submit_via_api(partner_two, signs_form.uuid, {f"cs{i:02d}": 3 for i in range(1, 13)})
        submit_via_api(partner_one, safety_form.uuid, {**SAFE_ANSWERS, "ss04": 1})
        with scopes_disabled():
            ids = list(Response.objects.filter(couple=couple).values_list("pk", flat=True))
        wait_for(lambda: scored(ids), 60, worker, log)

    assert "score_response" in log.read_text()
    with scopes_disabled():
        totals = dict(
            Score.objects.filter(couple=couple, scale="total").values_list("partner_id", "value")
        )
    # All 5s and all 3s, with cs02, cs10 and cs11 reverse-keyed (5 -> 1, 3 -> 3).
    assert totals == {one.pk: pytest.approx((9 * 5 + 3 * 1) / 12), two.pk: 3.0}
    results = clinician.get(f"/p/{world.a.practice.slug}/results/{signs_form.uuid}/")
    assert results.status_code == 200
    assert results.context["comparison"].total.mean == pytest.approx((4.0 + 3.0) / 2)
    with scope(practice=world.a.practice):
        alert = Alert.objects.get(kind=AlertKind.SAFETY)
    assert alert.partner_id == one.pk
    assert str(alert.uuid) in clinician.get(f"/p/{world.a.practice.slug}/alerts/").content.decode()
    assistant = signed_in(world.a.assistant)
    assert assistant.get(f"/p/{world.a.practice.slug}/alerts/").status_code == 404
    assert "alert" not in portal_client(two).get("/portal/").content.decode().lower()


def test_a_worker_killed_mid_task_loses_nothing_and_counts_nothing_twice(
    world, tmp_path, monkeypatch
):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one = couple.partners.get(position=1)
    response = answer(open_form(couple), one, {"pulse": 6}, submit=False)
    # Submitted while no worker runs: the scoring task waits in the broker.
    with real_broker(), scope(practice=world.a.practice):
        responses.submit(response)
    killed_log = tmp_path / "killed.log"
    with transaction.atomic():
        # Hold the response row, so the worker's task blocks inside its transaction...
        with scopes_disabled():
            Response.objects.select_for_update().filter(pk=response.pk).update(
                updated_at=timezone.now()
            )
        with running_worker(killed_log) as worker:
            wait_for(lambda: "score_response" in killed_log.read_text(), 30, worker, killed_log)
            time.sleep(1.0)
            kill_tree(worker.pid)  # ...and kill it there, pool process and all.
            worker.wait(timeout=10)
    with scopes_disabled():
        assert Response.objects.get(pk=response.pk).scored_at is None
        assert not Score.objects.filter(response=response).exists()
    # The beat sweeper finds the stranded submission; a new worker scores it once.
    monkeypatch.setattr(scoring, "UNSCORED_GRACE", timedelta(0))
    recovered_log = tmp_path / "recovered.log"
    with running_worker(recovered_log) as worker:
        assert sweep_unscored() == 1
        wait_for(lambda: scored([response.pk]), 60, worker, recovered_log)
    with scopes_disabled():
        rows = list(
            Score.objects.filter(response=response).order_by("scale").values_list("scale", "value")
        )
    assert rows == [("connection", 6.0)]
    # A late redelivery of the killed task changes nothing.
    with scope(practice=world.a.practice):
        scoring.score(response.pk)
    with scopes_disabled():
        assert (
            list(
                Score.objects.filter(response=response)
                .order_by("scale")
                .values_list("scale", "value")
            )
            == rows
        )


def kill_tree(pid: int) -> None:
    """SIGKILL a worker and its pool processes (its children)."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
