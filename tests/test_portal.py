"""The client portal: identity by link, private forms, autosave API, sign-out, quick exit."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from django_scopes import scope

from assessments.models import Response, Score
from clients.models import AccessLinkPurpose, PortalState
from clients.services import invitation_lifetime, new_access_link
from practice.models import AuditEvent
from tests.factories import SAFE_ANSWERS, answer, make_couple, open_form


def portal_client(partner, **client_kwargs) -> Client:
    """A browser signed in to the portal as this partner, through a real invitation link."""
    with scope(practice=partner.practice):
        partner.portal_state = PortalState.INVITED
        partner.save()
        _, token = new_access_link(partner, AccessLinkPurpose.INVITATION, invitation_lifetime())
    client = Client(**client_kwargs)
    page = client.get(f"/portal/enter/{token}/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = client.post(f"/portal/enter/{token}/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302, response.content[:300]
    return client


@pytest.fixture
def couple(world):
    return make_couple(world.a.practice, world.a.clinician)


@pytest.fixture
def partners(world, couple):
    with scope(practice=world.a.practice):
        return list(couple.partners.order_by("position"))


@pytest.mark.django_db
def test_home_lists_forms_to_do_with_due_date_and_minutes(couple, partners):
    occurrence = open_form(couple, "connection-signs")
    client = portal_client(partners[0])
    page = client.get("/portal/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Connection Signs Inventory" in html
    assert "about 4 minutes" in html
    assert f"/portal/forms/{occurrence.uuid}/" in html
    assert "Not you? Sign out" in html
    assert "Quick exit" in html


@pytest.mark.django_db
def test_every_portal_page_is_no_store(couple, partners):
    occurrence = open_form(couple)
    client = portal_client(partners[0])
    for url in (
        "/portal/",
        f"/portal/forms/{occurrence.uuid}/",
        "/portal/support/",
        "/portal/sign-in/",
        "/portal/account/",
    ):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], url


@pytest.mark.django_db
def test_answer_save_and_continue_without_javascript_then_review_and_submit(couple, partners):
    occurrence = open_form(couple, "connection-signs")
    client = portal_client(partners[0])
    url = f"/portal/forms/{occurrence.uuid}/"
    saved = client.post(url, {"a-cs01": "5", "a-cs02": "1", "save": "1"})
    assert saved.status_code == 302 and saved.url == "/portal/"
    # Resume, in another browser: the answers are there.
    other_device = portal_client(partners[0])
    form = other_device.get(url).content.decode()
    assert re.search(r'value="5"\s+checked', form)
    assert 'value="2" aria-valuenow' not in form
    review = other_device.post(url, {"review": "1"})
    assert review.url == f"/portal/forms/{occurrence.uuid}/review/"
    review_page = other_device.get(review.url).content.decode()
    assert "10 questions still need an answer." in review_page
    refused = other_device.post(review.url)
    assert refused.status_code == 400
    refused_page = refused.content.decode()
    assert "Please answer this question." in refused_page
    # The page shown after a refused send saves through the form's own address, so
    # "save and continue later" there keeps the new answers and sends nothing.
    action = re.search(r'<form method="post" action="([^"]+)" class="portal-form"', refused_page)
    assert action and action.group(1) == url
    more = {f"a-cs{i:02d}": "4" for i in range(3, 8)}
    kept = other_device.post(action.group(1), {**more, "save": "1"})
    assert kept.status_code == 302 and kept.url == "/portal/"
    with scope(practice=couple.practice):
        draft = Response.objects.get(partner=partners[0])
        assert not draft.is_submitted
        assert {k: draft.answers[k] for k in ("cs01", "cs03", "cs07")} == {
            "cs01": 5,
            "cs03": 4,
            "cs07": 4,
        }
    everything = {f"a-cs{i:02d}": "3" for i in range(1, 13)}
    other_device.post(url, {**everything, "review": "1"})
    done = other_device.post(review.url)
    assert done.url == f"/portal/forms/{occurrence.uuid}/done/"
    again = other_device.post(review.url)  # a double submit
    assert again.url == done.url
    with scope(practice=couple.practice):
        assert Response.objects.filter(partner=partners[0]).count() == 1
        assert Response.objects.get(partner=partners[0]).answers["cs01"] == 3


@pytest.mark.django_db
def test_values_outside_the_options_get_a_message_and_lose_nothing(couple, partners):
    occurrence = open_form(couple, "connection-signs")
    client = portal_client(partners[0])
    url = f"/portal/forms/{occurrence.uuid}/"
    response = client.post(url, {"a-cs01": "4", "a-cs02": "9", "a-cs03": "abc", "save": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("Choose one of the answers offered.") == 2
    assert re.search(r'name="a-cs01" value="4"\s+checked', html)  # the good answer is still shown
    with scope(practice=couple.practice):
        assert not Response.objects.filter(answers__has_key="cs02").exists()


@pytest.mark.django_db
def test_autosave_api_saves_each_answer_and_reports_progress(couple, partners):
    occurrence = open_form(couple, "connection-signs")
    client = portal_client(partners[0], enforce_csrf_checks=True)
    page = client.get(f"/portal/forms/{occurrence.uuid}/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    api = re.search(r'data-autosave="([^"]+)"', page)[1]
    ok = client.patch(
        api,
        json.dumps({"answers": {"cs01": 4, "cs02": 2}}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert ok.status_code == 200
    assert ok.json() == {"answered": 2, "total": 12, "submitted": False}
    bad = client.patch(
        api,
        json.dumps({"answers": {"cs03": 7, "zz": 1}}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {
        "answers.cs03": ["Choose one of the answers offered."],
        "answers.zz": ["This question is not part of the form."],
    }
    no_csrf = client.patch(
        api, json.dumps({"answers": {"cs01": 1}}), content_type="application/json"
    )
    assert no_csrf.status_code == 403
    malformed = client.patch(
        api, "{not json", content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert malformed.status_code == 400
    with scope(practice=couple.practice):
        assert Response.objects.get(partner=partners[0]).answers == {"cs01": 4, "cs02": 2}


@pytest.mark.django_db
def test_submit_api_is_idempotent(couple, partners):
    occurrence = open_form(couple)
    client = portal_client(partners[1])
    base = f"/api/v1/portal/forms/{occurrence.uuid}/"
    client.patch(base + "answers/", {"answers": {"pulse": 6}}, content_type="application/json")
    with TestCase.captureOnCommitCallbacks(execute=True):
        first = client.post(base + "submit/")
    second = client.post(base + "submit/")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["submitted"] and second.json()["submitted"]
    closed = client.patch(
        base + "answers/", {"answers": {"pulse": 1}}, content_type="application/json"
    )
    assert closed.status_code == 409
    with scope(practice=couple.practice):
        assert Score.objects.get(partner=partners[1]).value == 6


@pytest.mark.django_db
def test_the_portal_api_needs_a_partner_session(world, couple, partners):
    occurrence = open_form(couple)
    url = f"/api/v1/portal/forms/{occurrence.uuid}/answers/"
    anonymous = Client().patch(url, {"answers": {"pulse": 1}}, content_type="application/json")
    assert anonymous.status_code == 401
    from tests.conftest import signed_in

    staff = signed_in(world.a.owner)
    assert (
        staff.patch(url, {"answers": {"pulse": 1}}, content_type="application/json").status_code
        == 401
    )


@pytest.mark.django_db
def test_a_sign_in_link_is_asked_for_by_email_and_works_once(couple, partners):
    partner = partners[0]
    with scope(practice=partner.practice):
        partner.portal_state = PortalState.ACTIVE
        partner.save()
    browser = Client()
    with TestCase.captureOnCommitCallbacks() as queued:
        known = browser.post("/portal/sign-in/", {"email": partner.email.upper()})
        unknown = browser.post("/portal/sign-in/", {"email": "stranger@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == "/portal/sign-in/sent/"
    # Neither request mailed anything itself (timing would tell the two apart): the
    # known address queued one task, which makes the link and sends it.
    assert mail.outbox == [] and len(queued) == 1
    queued[0]()
    assert len(mail.outbox) == 1
    path = re.search(r"http://localhost:8000(/portal/enter/\S+/)", mail.outbox[0].body)[1]
    assert "30 minutes" in mail.outbox[0].body
    assert browser.post(path).status_code == 302
    second_browser = Client()
    reused = second_browser.post(path)
    assert reused.status_code == 410
    assert "already been used" in reused.content.decode()
    # Expiry after 30 minutes.
    with TestCase.captureOnCommitCallbacks(execute=True):
        browser.post("/portal/sign-in/", {"email": partner.email})
    late = re.search(r"http://localhost:8000(/portal/enter/\S+/)", mail.outbox[1].body)[1]
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert Client().post(late).status_code == 410


@pytest.mark.django_db
def test_with_the_broker_down_the_sign_in_link_waits_in_the_outbox_for_the_sweeper(
    couple, partners, monkeypatch
):
    from kombu.exceptions import OperationalError

    from clients import tasks
    from clients.models import Partner

    real_apply_async = tasks.send_sign_in_link.apply_async

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.send_sign_in_link, "apply_async", broker_down)
    partner = partners[0]
    with scope(practice=partner.practice):
        partner.portal_state = PortalState.ACTIVE
        partner.save()
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = Client().post("/portal/sign-in/", {"email": partner.email})
    # The partner is told the link is on its way; nothing was mailed from the request.
    assert answer.url == "/portal/sign-in/sent/"
    assert mail.outbox == []
    with scope(practice=partner.practice):
        requested_at = Partner.objects.get(pk=partner.pk).sign_in_link_requested_at
    assert requested_at is not None
    # Too fresh for the sweeper: its own task may still be on the way.
    assert tasks.sweep_sign_in_links() == 0
    monkeypatch.setattr(tasks.send_sign_in_link, "apply_async", real_apply_async)
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert tasks.sweep_sign_in_links() == 1
        assert tasks.sweep_sign_in_links() == 0  # sent: the outbox is empty
    assert len(mail.outbox) == 1 and "/portal/enter/" in mail.outbox[0].body
    with scope(practice=partner.practice):
        assert Partner.objects.get(pk=partner.pk).sign_in_link_requested_at is None
        # A late duplicate of the task sends nothing more.
        assert (
            tasks.send_sign_in_link(practice_id=partner.practice_id, partner_id=partner.pk) is False
        )
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_mail_failure_keeps_the_sign_in_request_and_makes_no_link(couple, partners, monkeypatch):
    from clients import services
    from clients.models import AccessLink, Partner

    partner = partners[0]
    with scope(practice=partner.practice):
        partner.portal_state = PortalState.ACTIVE
        partner.save()
        Partner.objects.filter(pk=partner.pk).update(sign_in_link_requested_at=timezone.now())

        def smtp_down(**kwargs):
            raise OSError("connection refused")

        monkeypatch.setattr(services.mail, "send", smtp_down)
        with pytest.raises(OSError, match="connection refused"):
            services.send_sign_in_link_now(partner.pk)
        assert Partner.objects.get(pk=partner.pk).sign_in_link_requested_at is not None
        assert not AccessLink.objects.filter(partner=partner, purpose="sign_in").exists()


@pytest.mark.django_db
def test_a_flood_of_sign_in_requests_is_throttled(couple, partners):
    partner = partners[0]
    with scope(practice=partner.practice):
        partner.portal_state = PortalState.ACTIVE
        partner.save()
    browser = Client(REMOTE_ADDR="198.51.100.20")
    with TestCase.captureOnCommitCallbacks(execute=True):
        statuses = [
            browser.post("/portal/sign-in/", {"email": partner.email}).status_code
            for _ in range(12)
        ]
    assert statuses[:10] == [302] * 10
    assert statuses[10:] == [429, 429]
    assert (
        "Too many sign-in links"
        in browser.post("/portal/sign-in/", {"email": "x@example.test"}).content.decode()
    )
    # The address itself is limited too, silently: three requests reached the outbox...
    with scope(practice=partner.practice):
        assert AuditEvent.objects.filter(action="portal.link_requested").count() == 3
    # ...and, asked for again before the first was sent, they went out as one link.
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_sessions_end_on_sign_out_everywhere_idle_and_quick_exit(couple, partners):
    phone = portal_client(partners[0])
    laptop = portal_client(partners[0])
    laptop.post("/portal/sign-out/", {"everywhere": "1"})
    assert phone.get("/portal/").status_code == 302
    assert laptop.get("/portal/").status_code == 302

    tablet = portal_client(partners[0])
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        idle = tablet.get("/portal/")
        assert idle.status_code == 302
        assert "30 minutes without activity" in tablet.get(idle.url).content.decode()

    shared = portal_client(partners[0])
    exit_ = shared.get("/portal/exit/")
    assert exit_.status_code == 302
    assert exit_.url.startswith("https://")
    assert shared.get("/portal/").status_code == 302
    beacon = portal_client(partners[0], enforce_csrf_checks=True)
    answered = beacon.post("/portal/exit/")  # sendBeacon carries no CSRF token
    # Nothing for the beacon to follow: the page itself goes to the neutral site.
    assert answered.status_code == 204 and "Location" not in answered
    assert answered["Clear-Site-Data"] == '"cache", "storage"'
    assert beacon.get("/portal/").status_code == 302


@pytest.mark.django_db
def test_portal_sign_in_and_views_are_audited_without_names(couple, partners):
    occurrence = open_form(couple)
    client = portal_client(partners[0])
    client.get(f"/portal/forms/{occurrence.uuid}/")
    with scope(practice=couple.practice):
        events = AuditEvent.objects.filter(action__startswith="portal.")
        assert {e.action for e in events} == {"portal.sign_in", "portal.form_view"}
        for event in events:
            assert partners[0].display_name not in str(event.details) + event.actor_label
            assert event.actor_label == f"partner:{partners[0].uuid}"


@pytest.mark.django_db
def test_after_the_safety_screen_the_partner_sees_support_resources(world, couple, partners):
    world.a.practice.support_resources = "Domestic abuse helpline: 0808 2000 247"
    world.a.practice.save()
    occurrence = open_form(couple, "safety-screen", partner=partners[0])
    client = portal_client(partners[0])
    url = f"/portal/forms/{occurrence.uuid}/"
    client.post(url, {**{f"a-{k}": str(v) for k, v in SAFE_ANSWERS.items()}, "review": "1"})
    done = client.post(url + "review/", follow=True)
    assert "0808 2000 247" in done.content.decode()
    assert "If you need support" in done.content.decode()
    assert "0808 2000 247" in client.get("/portal/support/").content.decode()


@pytest.mark.django_db
def test_a_cancelled_form_gets_a_clear_page(world, couple, partners):
    occurrence = open_form(couple)
    with scope(practice=couple.practice):
        occurrence.cancelled = True
        occurrence.save()
    client = portal_client(partners[0])
    response = client.get(f"/portal/forms/{occurrence.uuid}/")
    assert response.status_code == 410
    assert "no longer needed" in response.content.decode()


@pytest.mark.django_db
def test_the_portal_speaks_the_partners_language(couple, partners):
    occurrence = open_form(couple, "connection-signs")
    with scope(practice=couple.practice):
        partners[1].language = "es"
        partners[1].save()
    client = portal_client(partners[1])
    html = client.get(f"/portal/forms/{occurrence.uuid}/").content.decode()
    assert "Inventario" in html  # the instrument's Spanish title
    assert "Revisar mis respuestas" in html  # the interface's own Spanish
    assert 'lang="es"' in html


@pytest.mark.django_db
def test_answered_forms_move_to_completed(couple, partners):
    occurrence = open_form(couple)
    answer(occurrence, partners[0], {"pulse": 8})
    html = portal_client(partners[0]).get("/portal/").content.decode()
    assert "Nothing to do right now" in html
    assert "Completed" in html


@pytest.mark.django_db
def test_completed_forms_are_grouped_by_month_and_paged(world):
    from datetime import datetime

    from assessments.portal import COMPLETED_PER_PAGE

    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one = couple.partners.order_by("position").first()
    total = COMPLETED_PER_PAGE + 3
    for _ in range(total):
        answer(open_form(couple, partner=one), one, {"pulse": 5})
    with scope(practice=world.a.practice):
        ids = list(
            Response.objects.filter(partner=one)
            .order_by("submitted_at")
            .values_list("pk", flat=True)
        )
        # Oldest five in October, the rest in November (the only way to date them).
        for index, pk in enumerate(ids):
            month = 10 if index < 5 else 11
            Response.objects.filter(pk=pk).update(
                submitted_at=datetime(2026, month, 1 + index, 12, tzinfo=UTC)
            )
    client = portal_client(one)
    first = client.get("/portal/")
    html = first.content.decode()
    completed = first.context["completed"]
    assert sum(len(rows) for _month, rows in completed["months"]) == COMPLETED_PER_PAGE
    assert [month.month for month, _rows in completed["months"]] == [11, 10]
    assert "November 2026" in html and "October 2026" in html
    assert 'href="?done=2#done"' in html and "Page 1 of 2" in html
    second = client.get("/portal/", {"done": "2"})
    rows = [row for _month, group in second.context["completed"]["months"] for row in group]
    assert len(rows) == total - COMPLETED_PER_PAGE
    assert [month.month for month, _rows in second.context["completed"]["months"]] == [10]
    # Nonsense page numbers show a page, not an error.
    assert client.get("/portal/", {"done": "x"}).status_code == 200


@pytest.mark.django_db
def test_pages_before_sign_in_follow_the_browser_and_offer_a_language_switch():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/portal/sign-in/", headers={"accept-language": "es-ES,es;q=0.9"})
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert 'action="/i18n/setlang/"' in html and 'name="language"' in html
    # Without its CSRF token the switch is refused.
    refused = browser.post("/i18n/setlang/", {"language": "ru", "next": "/portal/sign-in/"})
    assert refused.status_code == 403
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    switched = browser.post(
        "/i18n/setlang/",
        {"language": "ru", "next": "/portal/sign-in/", "csrfmiddlewaretoken": csrf},
        headers={"accept-language": "es"},
    )
    assert switched.status_code == 302 and switched.url == "/portal/sign-in/"
    again = browser.get("/portal/sign-in/", headers={"accept-language": "es"})
    assert again["Content-Language"] == "ru"
    # An outside address as "next" is not followed.
    away = browser.post(
        "/i18n/setlang/",
        {"language": "en", "next": "https://evil.example/", "csrfmiddlewaretoken": csrf},
    )
    assert "evil.example" not in away.get("Location", "")
