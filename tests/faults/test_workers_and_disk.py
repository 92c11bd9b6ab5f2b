"""Workers killed mid-score and mid-render, a report store that refuses the PDF, a corrupt
answer set: nothing is lost, nothing counted twice, and people are told what happened."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import Alert, AlertKind, Response, ResponseState, Score
from assessments.services import scoring
from assessments.tasks import sweep_unscored
from reports import services as report_services
from reports.models import Report, ReportKind, ReportStatus
from tests.conftest import signed_in
from tests.factories import make_couple, open_form
from tests.faults.harness import LEASE_SECONDS, celery_on
from tests.test_portal import portal_client
from tests.test_reports import END, START, pdfinfo
from tests.test_worker_e2e import submit_via_api

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SIGNS = [f"cs{i:02d}" for i in range(1, 13)]
# Scales of the Connection Signs Inventory: its total and five subscales.
SIGNS_SCALES = 6


def submitted_signs(world, couples: int) -> tuple[list, dict[int, dict]]:
    """Couples whose two partners each submitted the Connection Signs Inventory via the API."""
    made, given = [], {}
    for n in range(couples):
        couple = make_couple(world.a.practice, world.a.clinician, label=f"Fault {n}", n=n)
        form = open_form(couple, "connection-signs")
        with scope(practice=world.a.practice):
            partners = list(couple.partners.order_by("position"))
        for position, partner in enumerate(partners, start=1):
            answers = {key: (position + n + i) % 5 + 1 for i, key in enumerate(SIGNS)}
            submit_via_api(portal_client(partner), form.uuid, answers)
            given[partner.pk] = answers
        made.append(couple)
    return made, given


def counts(couples) -> tuple[int, int, int]:
    """(submitted responses, scored responses, score rows) of these couples."""
    with scopes_disabled():
        responses = Response.objects.filter(couple__in=couples, state=ResponseState.SUBMITTED)
        return (
            responses.count(),
            responses.filter(scored_at__isnull=False).count(),
            Score.objects.filter(couple__in=couples).count(),
        )


def test_a_worker_killed_mid_score_loses_and_doubles_nothing(world, stack, monkeypatch):
    with celery_on(stack.redis.url(0)):
        couples, given = submitted_signs(world, 3)  # 6 scoring tasks wait in Redis
        with scopes_disabled():
            first = Response.objects.filter(couple__in=couples).order_by("pk").first()
        with transaction.atomic():
            # Hold one submission's row, so a task blocks inside its transaction, then kill.
            with scopes_disabled():
                Response.objects.select_for_update().filter(pk=first.pk).update(
                    updated_at=timezone.now()
                )
            doomed = stack.worker("score-killed", [stack_default()])
            doomed.wait_for(lambda: doomed.logged("score_response"), 30)
            doomed.kill()
        monkeypatch.setattr(scoring, "UNSCORED_GRACE", timedelta(0))
        back = stack.worker("score-back", [stack_default()])
        restarted = time.monotonic()
        # The killed task sits unacknowledged in Redis for an hour: the sweeper re-sends it.
        assert sweep_unscored() >= 1
        back.wait_for(lambda: counts(couples)[1] == 6, 60)
        recovery = time.monotonic() - restarted
    submitted, scored, rows = counts(couples)
    assert (submitted, scored, rows) == (6, 6, 6 * SIGNS_SCALES)
    with scopes_disabled():
        kept = {r.partner_id: r.answers for r in Response.objects.filter(couple__in=couples)}
    assert kept == given  # 0 answers lost
    assert recovery < 60


def stack_default() -> str:
    from django.conf import settings

    return settings.CELERY_TASK_DEFAULT_QUEUE


def history_couple(world):
    couple = make_couple(world.a.practice, world.a.clinician, label="Render Fault")
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
    from tests.factories import answer

    for value_one, value_two in ((4, 6), (6, 7)):
        form = open_form(couple)
        answer(form, one, {"pulse": value_one})
        answer(form, two, {"pulse": value_two})
    return couple


def request_report(couple, actor) -> Report:
    with scope(practice=couple.practice):
        return report_services.request_report(
            couple=couple,
            kind=ReportKind.CLINICIAN,
            period_start=START,
            period_end=END,
            actor=actor,
        )


def report_row(report) -> Report:
    with scopes_disabled():
        return Report.objects.get(pk=report.pk)


def stored_files(stack_root) -> list[str]:
    return sorted(p.name for p in stack_root.rglob("*") if p.is_file())


def assert_one_valid_pdf(report, private_root, tmp_path) -> None:
    done = report_row(report)
    assert done.status == ReportStatus.READY, (done.status, done.error_code, done.error)
    assert stored_files(private_root) == [f"{done.uuid}.pdf"]  # no partial or second copy
    with scope(practice=done.practice):
        data = done.file.read()
    assert len(data) == done.size
    assert "Pages:" in pdfinfo(data, tmp_path)


def test_a_worker_killed_mid_render_hands_the_report_on_within_seconds(
    world, stack, settings, tmp_path
):
    couple = history_couple(world)
    private_root = tmp_path / "private"
    with celery_on(stack.redis.url(0)):
        # First the OOM case: the pool process dies, the worker lives and gets the task back.
        renderer = stack.worker("render", [settings.REPORTS_QUEUE])
        report = request_report(couple, world.a.clinician)
        renderer.wait_for(lambda: report_row(report).status == ReportStatus.RENDERING, 30)
        with transaction.atomic():
            # Hold the row so the render cannot finish before the kill.
            with scopes_disabled():
                Report.objects.select_for_update().filter(pk=report.pk).first()
            renderer.kill_pool_child()
        killed = time.monotonic()
        renderer.wait_for(lambda: report_row(report).status == ReportStatus.READY, 60)
        assert time.monotonic() - killed < 60
        assert report_row(report).attempts == 2
        assert_one_valid_pdf(report, private_root, tmp_path)

        # Then the whole worker: nothing is redelivered for an hour, the sweeper steps in.
        second = request_report(couple, world.a.clinician)
        renderer.wait_for(lambda: report_row(second).status == ReportStatus.RENDERING, 30)
        with transaction.atomic():
            with scopes_disabled():
                Report.objects.select_for_update().filter(pk=second.pk).first()
            renderer.kill()
        back = stack.worker("render-back", [settings.REPORTS_QUEUE])
        restarted = time.monotonic()
        deadline = restarted + 60
        # Beat runs the sweeper every 30 s; here it is called until the lease has lapsed.
        while report_services.requeue_stale() == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        back.wait_for(lambda: report_row(second).status == ReportStatus.READY, 60)
        assert time.monotonic() - restarted < 60
        assert report_row(second).attempts == 2
    files = stored_files(private_root)
    assert sorted(files) == sorted([f"{report.uuid}.pdf", f"{second.uuid}.pdf"])
    assert LEASE_SECONDS < 60


def test_a_report_store_that_refuses_the_pdf_fails_it_clearly_and_try_again_works(
    world, stack, settings, tmp_path
):
    couple = history_couple(world)
    private_root = tmp_path / "private"
    private_root.mkdir(exist_ok=True)
    with celery_on(stack.redis.url(0)):
        # 16 KiB: the worker's log and bytecode fit, a report PDF does not (EFBIG).
        limited = stack.worker("full-disk", [settings.REPORTS_QUEUE], file_size_limit=16 * 1024)
        report = request_report(couple, world.a.clinician)
        limited.wait_for(lambda: report_row(report).status == ReportStatus.FAILED, 60)
        failed = report_row(report)
        assert (failed.error_code, failed.error) == ("storage", "EFBIG")
        assert stored_files(private_root) == []  # the partial file was removed
        clinician = signed_in(world.a.clinician)
        page = clinician.get(f"/p/{world.a.practice.slug}/reports/{report.uuid}/")
        html = page.content.decode()
        assert "could not be saved" in html and "(EFBIG)" in html and "Try again" in html
        limited.stop()

        stack.worker("disk-freed", [settings.REPORTS_QUEUE])
        assert (
            clinician.post(
                f"/p/{world.a.practice.slug}/reports/{report.uuid}/action/", {"action": "retry"}
            ).status_code
            == 302
        )
        stack.workers[-1].wait_for(lambda: report_row(report).status == ReportStatus.READY, 60)
    assert_one_valid_pdf(report, private_root, tmp_path)


def test_a_corrupt_answer_set_is_flagged_once_and_the_rest_is_scored(world, stack):
    secret = "words only the partner should see"
    with celery_on(stack.redis.url(0)):
        couples, given = submitted_signs(world, 1)  # scoring waits in Redis: no worker yet
        couple = couples[0]
        with scopes_disabled():
            one, two = Response.objects.filter(couple=couple).order_by("partner__position")
            Response.objects.filter(pk=one.pk).update(answers={**one.answers, "cs01": secret})
        worker = stack.worker("poison", [stack_default()])
        worker.wait_for(lambda: counts(couples)[1] == 1, 30)
        worker.wait_for(
            lambda: Response.objects.with_scopes_disabled().get(pk=one.pk).scoring_attempts == 1,
            30,
        )
        # A second try fails the same way: counted, and still one alert.
        scoring_task_again(one)
        worker.wait_for(
            lambda: Response.objects.with_scopes_disabled().get(pk=one.pk).scoring_attempts == 2,
            30,
        )
    poisoned = Response.objects.with_scopes_disabled().get(pk=one.pk)
    assert poisoned.scoring_error == "invalid_answers" and poisoned.scored_at is None
    assert poisoned.scoring_retry_at is not None
    with scopes_disabled():
        assert Alert.objects.filter(kind=AlertKind.SCORING, response=one).count() == 1
        assert Score.objects.filter(response=two).count() == SIGNS_SCALES
        assert not Score.objects.filter(response=one).exists()
    assert secret not in worker.log.read_text()
    clinician = signed_in(world.a.clinician)
    page = clinician.get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/").content.decode()
    assert "could not be scored" in page and secret not in page
    assert Client().get("/healthz").status_code == 200
    assert given  # the other partner's answers are untouched
    with scopes_disabled():
        assert Response.objects.get(pk=two.pk).answers == given[two.partner_id]


def scoring_task_again(response) -> None:
    from assessments.tasks import score_response

    score_response.delay(practice_id=response.practice_id, response_id=response.pk)
