"""A submission that makes scoring fail: marked, alerted once, retried with backoff, then kept
for a person; never a line of its answers in the log."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope

from assessments.models import Alert, AlertKind, AlertStatus, Response, Score
from assessments.services import scoring
from assessments.tasks import sweep_unscored
from tests.conftest import signed_in
from tests.factories import answer, make_couple, open_form

SECRET = "my private words"


@pytest.fixture
def poisoned(world):
    """A submitted pulse whose stored answer was corrupted before it could be scored."""
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one = couple.partners.get(position=1)
    response = answer(open_form(couple), one, {"pulse": 6})
    with scope(practice=world.a.practice):
        Score.objects.filter(response=response).delete()
        Response.objects.filter(pk=response.pk).update(answers={"pulse": SECRET}, scored_at=None)
    return couple, response


def refreshed(response) -> Response:
    with scope(practice=response.practice):
        return Response.objects.get(pk=response.pk)


@pytest.mark.django_db
def test_a_poisoned_submission_is_marked_alerted_once_and_retried_with_backoff(
    world, poisoned, caplog
):
    _couple, response = poisoned
    caplog.set_level(logging.INFO)
    started = timezone.now()
    with scope(practice=world.a.practice):
        scoring.score(response.pk)
    failed = refreshed(response)
    assert (failed.scoring_error, failed.scoring_attempts) == ("invalid_answers", 1)
    assert failed.scoring_retry_at - started == pytest.approx(
        timedelta(minutes=2), abs=timedelta(seconds=5)
    )
    assert failed.scored_at is None
    assert SECRET not in caplog.text  # ValueError's own text quotes the answer
    assert "invalid_answers" in caplog.text
    # Not due yet: the sweeper leaves it alone.
    assert response.pk not in [pk for _, pk, _ in scoring.unscored_ids()]
    waits = []
    for _ in range(4):
        due = refreshed(response).scoring_retry_at
        with time_machine.travel(due + timedelta(seconds=1)):
            assert sweep_unscored() == 1
            assert sweep_unscored() == 0  # once per try, not once per sweep
        following = refreshed(response).scoring_retry_at
        if following is not None:
            waits.append(round((following - due).total_seconds() / 60))
    assert waits == [8, 32, 128]
    given_up = refreshed(response)
    assert (given_up.scoring_attempts, given_up.scoring_retry_at) == (5, None)
    assert given_up.scoring_given_up
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert scoring.unscored_ids() == []  # left for a person
    with scope(practice=world.a.practice):
        alerts = list(Alert.objects.filter(kind=AlertKind.SCORING))
    assert len(alerts) == 1 and alerts[0].response_id == response.pk
    assert SECRET not in str(alerts[0].details)


@pytest.mark.django_db
def test_staff_see_the_scoring_error_on_the_couple_page_alerts_and_api(world, poisoned):
    couple, response = poisoned
    with scope(practice=world.a.practice):
        scoring.score(response.pk)
    client = signed_in(world.a.clinician)
    page = client.get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/").content.decode()
    assert "1 submitted form could not be scored" in page
    assert SECRET not in page
    forms = client.get(
        f"/p/{world.a.practice.slug}/couples/{couple.uuid}/", {"tab": "forms"}
    ).content.decode()
    assert "Could not be scored" in forms and "trying again" in forms
    assert SECRET not in forms
    results = client.get(f"/p/{world.a.practice.slug}/results/{response.occurrence.uuid}/")
    assert results.status_code == 200
    alerts = client.get(f"/p/{world.a.practice.slug}/alerts/").content.decode()
    assert "could not be scored" in alerts
    api = client.get(f"/api/v1/p/{world.a.practice.slug}/couples/{couple.uuid}/responses/").json()
    row = next(r for r in api["results"] if r["uuid"] == str(response.uuid))
    assert row["scoring_error"] == "invalid_answers"
    assert row["scoring_attempts"] == 1 and row["scoring_retry_at"] is not None
    assert row["scores"] == [] and row["scored_at"] is None
    # Another practice sees none of it.
    outsider = signed_in(world.b.clinician)
    assert outsider.get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/").status_code == 404


@pytest.mark.django_db
def test_after_a_fix_retry_scoring_scores_it_and_resolves_the_alert(world, poisoned):
    couple, response = poisoned
    with scope(practice=world.a.practice):
        for _ in range(scoring.MAX_SCORING_ATTEMPTS):
            scoring.score(response.pk)
        assert refreshed(response).scoring_given_up
        # The cause is fixed (here: the answer set repaired from a backup).
        Response.objects.filter(pk=response.pk).update(answers={"pulse": 6})
    call_command("retry_scoring", "--inline", stdout=open("/dev/null", "w"))  # noqa: SIM115
    done = refreshed(response)
    assert done.scored_at is not None
    assert (done.scoring_error, done.scoring_attempts, done.scoring_retry_at) == ("", 0, None)
    with scope(practice=world.a.practice):
        assert list(Score.objects.filter(response=response).values_list("value", flat=True)) == [
            6.0
        ]
        alert = Alert.objects.get(kind=AlertKind.SCORING)
    assert alert.status == AlertStatus.RESOLVED
    client = signed_in(world.a.clinician)
    for tab in ("results", "forms"):
        page = client.get(
            f"/p/{world.a.practice.slug}/couples/{couple.uuid}/", {"tab": tab}
        ).content.decode()
        assert "could not be scored" not in page


@pytest.mark.django_db
def test_the_results_page_and_api_survive_one_corrupt_partner(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
    form = open_form(couple)
    answer(form, one, {"pulse": 6})
    answer(form, two, {"pulse": 4})
    with scope(practice=world.a.practice):
        Response.objects.filter(partner=one).update(answers={"pulse": SECRET}, scored_at=None)
        scoring.score(Response.objects.get(partner=one).pk)
    client = signed_in(world.a.clinician)
    page = client.get(f"/p/{world.a.practice.slug}/results/{form.uuid}/")
    assert page.status_code == 200
    assert "These answers could not be scored" in page.content.decode()
    assert page.context["comparison"] is None
    api = client.get(f"/api/v1/p/{world.a.practice.slug}/results/{form.uuid}/")
    assert api.status_code == 200
    assert api.json()["couple"] is None
