"""A partner answering in a real browser while things break: Redis stops mid-form, the
autosave API stops answering, the page is reloaded, the review page is opened early."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, Route, expect

from assessments.models import Response, ResponseState, Score
from assessments.services import scoring
from assessments.tasks import sweep_unscored
from tests.browser.conftest import DESKTOP, portal_sign_in
from tests.browser.test_portal_flow import choose, expect_saved
from tests.factories import make_couple, open_form
from tests.faults.harness import celery_on

pytestmark = [pytest.mark.faults, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNS = [f"cs{i:02d}" for i in range(1, 13)]
GIVEN = {key: i % 5 + 1 for i, key in enumerate(SIGNS)}
SIGNS_SCALES = 6
DRAFT_KEYS = "Object.keys(sessionStorage).filter(k => k.startsWith('attune.draft.')).length"


@pytest.fixture
def partner(world):
    couple = make_couple(world.a.practice, world.a.clinician, label="Outage & Couple")
    with scope(practice=world.a.practice):
        return couple.partners.get(position=1)


def saved_answers(partner, form) -> dict:
    with scopes_disabled():
        response = Response.objects.filter(partner=partner, occurrence=form).first()
        return dict(response.answers) if response else {}


def test_redis_down_while_answering_and_submitting_loses_nothing(
    stack, live_server, new_context, partner, monkeypatch
):
    form = open_form(partner.couple, "connection-signs")
    base = live_server.url
    api_statuses: list[int] = []
    with celery_on(stack.redis.url(0)):
        page: Page = new_context(**DESKTOP)
        page.on(
            "response",
            lambda r: api_statuses.append(r.status) if "/api/" in r.url else None,
        )
        portal_sign_in(page, base, partner)
        page.goto(f"{base}/portal/forms/{form.uuid}/")
        for key in SIGNS[:6]:
            choose(page, key, GIVEN[key])
        expect_saved(page, 6, 12)

        stack.redis.stop()  # cache and broker gone, mid-form
        before_outage = len(api_statuses)
        for key in SIGNS[6:]:
            choose(page, key, GIVEN[key])
        expect_saved(page, 12, 12)
        during_outage = api_statuses[before_outage:]
        health = page.request.get(f"{base}/healthz")
        assert health.status == 200
        assert health.json()["checks"] | {"worker": "-"} == {
            "database": "ok",
            "cache": "down",
            "broker": "down",
            "worker": "-",
        }
        page.get_by_role("button", name="Review my answers").click()
        expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
        expect(page.locator("#missing-count")).to_have_count(0)
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(f"{base}/portal/forms/{form.uuid}/done/")
        assert page.evaluate(DRAFT_KEYS) == 0

        with scopes_disabled():
            response = Response.objects.get(partner=partner, occurrence=form)
        assert response.state == ResponseState.SUBMITTED
        assert response.answers == GIVEN  # 0 lost
        assert response.scored_at is None  # its task could not reach the broker

        stack.redis.start()  # back, empty: the sweeper re-sends from the database
        worker = stack.worker("after-outage", [settings.CELERY_TASK_DEFAULT_QUEUE])
        monkeypatch.setattr(scoring, "UNSCORED_GRACE", timedelta(0))
        assert sweep_unscored() == 1
        worker.wait_for(
            lambda: (
                Response.objects.with_scopes_disabled().get(pk=response.pk).scored_at is not None
            ),
            60,
        )
    with scopes_disabled():
        assert Response.objects.filter(partner=partner).count() == 1  # 0 duplicated
        assert Score.objects.filter(response=response).count() == SIGNS_SCALES
    # Autosave batches quick answers: at least one save went through during the outage.
    assert during_outage and set(during_outage) == {200}
    assert [s for s in api_statuses if s >= 500] == []  # the API stayed up throughout


def test_unsent_answers_survive_reload_and_review_then_are_sent(live_server, new_context, partner):
    form = open_form(partner.couple, "connection-signs")
    base = live_server.url
    page: Page = new_context(**DESKTOP)
    portal_sign_in(page, base, partner)
    page.goto(f"{base}/portal/forms/{form.uuid}/")
    for key in SIGNS[:3]:
        choose(page, key, GIVEN[key])
    expect_saved(page, 3, 12)

    # The connection drops: the autosave requests fail outright.
    page.route("**/api/v1/portal/**", lambda route: route.abort("internetdisconnected"))
    for key in SIGNS[3:6]:
        choose(page, key, GIVEN[key])
    expect(page.locator("#save-status")).to_contain_text("Connection lost")
    # Then the server answers with an error page instead: a different message.
    page.unroute("**/api/v1/portal/**")

    def server_down(route: Route) -> None:
        route.fulfill(status=503, body="<h1>Service unavailable</h1>", content_type="text/html")

    page.route("**/api/v1/portal/**", server_down)
    choose(page, SIGNS[6], GIVEN[SIGNS[6]])
    expect(page.locator("#save-status")).to_contain_text("The server had a problem")
    assert saved_answers(partner, form) == {k: GIVEN[k] for k in SIGNS[:3]}

    # A reload keeps them: they come back from this tab's storage.
    page.reload()
    for key in SIGNS[3:7]:
        expect(page.locator(f"#a-{key}-{GIVEN[key]}")).to_be_checked()
    # The review page shows them as given, waiting to be sent, never as missing.
    page.goto(f"{base}/portal/forms/{form.uuid}/review/")
    expect(page.locator("#missing-count")).to_have_text("5 questions still need an answer.")
    expect(page.locator("li[data-waiting]")).to_have_count(4)
    expect(page.locator("li[data-link-id='cs04']")).to_contain_text("waiting to be sent")

    # The server is back: the review page sends them itself.
    page.unroute("**/api/v1/portal/**")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#save-status")).to_have_text("Saved")
    assert saved_answers(partner, form) == {k: GIVEN[k] for k in SIGNS[:7]}
    assert page.evaluate(DRAFT_KEYS) == 0

    # Leaving by Quick exit forgets anything kept on the device.
    page.goto(f"{base}/portal/forms/{form.uuid}/")
    page.route("**/api/v1/portal/**", lambda route: route.abort("internetdisconnected"))
    choose(page, SIGNS[7], GIVEN[SIGNS[7]])
    expect(page.locator("#save-status")).to_contain_text("Connection lost")
    assert page.evaluate(DRAFT_KEYS) == 1
    page.route("https://www.bbc.co.uk/**", lambda route: route.fulfill(body="weather"))
    page.get_by_role("link", name="Quick exit").click()
    page.wait_for_url("https://www.bbc.co.uk/**")
    page.goto(f"{base}/portal/signed-out/")
    assert page.evaluate(DRAFT_KEYS) == 0
