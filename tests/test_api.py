"""The REST API: tokens, roles, the error format, bad input, paging, downloads, the contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import definition as defn
from assessments.models import Instrument, Response, Score
from clients.models import Couple, Partner
from practice import tokens
from practice.models import ApiToken, AuditEvent, User
from reports.models import Report
from tests.conftest import signed_in, signed_in_verified
from tests.factories import CUSTOM_DEFINITION, answer, make_couple, open_form
from tests.test_caseload import bulk_couples
from tests.test_portal import portal_client

ROOT = Path(__file__).resolve().parent.parent


def api(secret: str | None = None) -> Client:
    headers = {"Authorization": f"Token {secret}"} if secret else {}
    return Client(headers=headers)


def token_for(user, practice) -> str:
    with scope(practice=practice):
        return tokens.create(practice=practice, user=user, name="tests")[1]


def assert_error(response, status, code=None, fields=None):
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    if code:
        assert body["error"]["code"] == code
    if fields is not None:
        assert set(body["error"]["fields"]) == set(fields), body["error"]["fields"]
    return body["error"]


@pytest.fixture
def base(world):
    return f"/api/v1/p/{world.a.practice.slug}"


# Both practices and their case files are built once for this module (tests/conftest.py):
# every test here sees them, and each test's own changes roll back after it.
@pytest.fixture
def private_root(module_data_root):
    return module_data_root


@pytest.fixture
def world(shared_world_and_cases):
    return shared_world_and_cases[0]


@pytest.fixture
def cases(shared_world_and_cases):
    return shared_world_and_cases[1]


# --- Tokens -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_is_created_in_settings_shown_once_stored_hashed_and_revocable(world, base):
    client = signed_in_verified(world.a.clinician)
    page = client.post(f"/p/{world.a.practice.slug}/settings/tokens/", {"name": "export"})
    secret = re.search(r'value="(att_[^"]+)"', page.content.decode())[1]
    assert "no-store" in page["Cache-Control"]
    with scope(practice=world.a.practice):
        token = ApiToken.objects.get(name="export")
    assert secret not in str(ApiToken.objects.with_scopes_disabled().values_list())
    assert token.last_used_at is None
    assert secret not in client.get(f"/p/{world.a.practice.slug}/settings/tokens/").content.decode()
    assert api(secret).get(base + "/couples/").status_code == 200
    with scope(practice=world.a.practice):
        token.refresh_from_db()
    assert token.last_used_at is not None
    client.post(f"/p/{world.a.practice.slug}/settings/tokens/{token.uuid}/revoke/")
    assert_error(api(secret).get(base + "/couples/"), 401, "authentication_failed")


@pytest.mark.django_db
def test_bad_missing_and_foreign_tokens(world, cases, base):
    assert_error(api("att_nonsense").get(base + "/couples/"), 401)
    assert_error(Client(headers={"Authorization": "Basic abc"}).get(base + "/couples/"), 401)
    assert_error(Client().get(base + "/couples/"), 401)
    # B's token on A's practice: as if A did not exist.
    assert_error(api(cases.b.token_secret).get(base + "/couples/"), 404, "not_found")
    # A token is scoped to its practice even if its user belongs to two.
    from tests.factories import MembershipFactory

    MembershipFactory(practice=world.b.practice, user=world.a.owner, role="owner")
    assert_error(api(cases.a.token_secret).get(f"/api/v1/p/{world.b.practice.slug}/couples/"), 404)
    practices = api(cases.a.token_secret).get("/api/v1/practices/").json()
    assert [p["slug"] for p in practices] == [world.a.practice.slug]
    session = signed_in(world.a.owner).get("/api/v1/practices/").json()
    assert {p["slug"] for p in session} == {world.a.practice.slug, world.b.practice.slug}


@pytest.mark.django_db
def test_a_deactivated_users_token_stops_working(world, cases, base):
    world.a.owner.is_active = False
    world.a.owner.save()
    assert_error(api(cases.a.token_secret).get(base + "/couples/"), 401)


@pytest.mark.django_db
def test_session_calls_need_csrf_and_partner_sessions_get_nothing(world, cases, base):
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/accounts/sign-in/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    browser.post(
        "/accounts/sign-in/",
        {
            "username": world.a.owner.email,
            "csrfmiddlewaretoken": csrf,
            "password": "correct horse battery staple",
        },
    )
    assert browser.get(base + "/couples/").status_code == 200
    refused = browser.post(base + "/couples/", {}, content_type="application/json")
    assert_error(refused, 403)
    from tests.test_portal import portal_client

    partner = portal_client(cases.a.partner_one)
    assert_error(partner.get(base + "/couples/"), 401)
    assert_error(partner.get("/api/v1/practices/"), 401)


# --- Roles --------------------------------------------------------------------


@pytest.mark.django_db
def test_roles_apply_exactly_as_in_the_dashboard(world, cases, base):
    assistant = api(token_for(world.a.assistant, world.a.practice))
    rows = assistant.get(base + "/couples/").json()["results"]
    assert rows
    # One shape for every role: clinical fields are there, and null, for an assistant.
    assert rows[0]["connection"] is None
    assert rows[0]["open_alerts"] is None
    for path in (
        "/alerts/",
        "/reports/",
        f"/results/{cases.a.occurrence.uuid}/",
        f"/couples/{cases.a.couple.uuid}/responses/",
        "/audit/",
        "/members/",
    ):
        assert_error(assistant.get(base + path), 404)
    assert assistant.get(base + "/instruments/").status_code == 200
    clinician = api(token_for(world.a.clinician, world.a.practice))
    row = clinician.get(base + "/couples/").json()["results"][0]
    assert {c["partner"] for c in row["connection"]} == {
        str(cases.a.partner_one.uuid),
        str(cases.a.partner_two.uuid),
    }
    with scope(practice=world.a.practice):
        from assessments.models import Alert

        assert row["open_alerts"] == Alert.objects.exclude(status="resolved").count() >= 1
    assert_error(clinician.get(base + "/audit/"), 404)
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(practice=world.a.practice, role="clinician").user
    other = api(token_for(colleague, world.a.practice))
    assert other.get(base + "/couples/").json()["results"] == []
    assert_error(other.get(base + f"/couples/{cases.a.couple.uuid}/"), 404)


# --- Bad input ----------------------------------------------------------------


def couple_body(**overrides):
    body = {
        "label": "API & Couple",
        "partners": [
            {"display_name": "Ari", "email": "ari@example.test"},
            {"display_name": "Bo", "email": "bo@example.test", "language": "es"},
        ],
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_create_a_couple_and_every_kind_of_bad_input_gets_a_clear_4xx(world, cases, base):
    client = api(cases.a.token_secret)

    def post(body, **kwargs):
        return client.post(
            base + "/couples/",
            body if isinstance(body, str) else json.dumps(body),
            content_type=kwargs.get("content_type", "application/json"),
        )

    created = post(couple_body(clinicians=[str(world.a.clinician.uuid)]))
    assert created.status_code == 201
    assert [p["display_name"] for p in created.json()["partners"]] == ["Ari", "Bo"]
    assert created.json()["clinicians"][0]["uuid"] == str(world.a.clinician.uuid)
    assert_error(post("{not json"), 400, "parse_error")
    assert_error(post(couple_body(label=["x"], colour="teal")), 400, "invalid", {"colour", "label"})
    dup = assert_error(post(couple_body(label="Dup")), 400, "invalid", {"partners[0].email"})
    assert "already uses this email" in dup["fields"]["partners[0].email"][0]
    second_taken = couple_body(
        label="Dup2",
        partners=[
            {"display_name": "New", "email": "new-one@example.test"},
            couple_body()["partners"][1],
        ],
    )
    assert_error(post(second_taken), 400, "invalid", {"partners[1].email"})
    same = couple_body(
        label="Same",
        partners=[
            {"display_name": "A", "email": "same@example.test"},
            {"display_name": "B", "email": "SAME@example.test"},
        ],
    )
    assert_error(post(same), 400, "invalid", {"partners[1].email"})
    third = couple_body(
        partners=[*couple_body()["partners"], {"display_name": "C", "email": "c@example.test"}]
    )
    assert_error(post(third), 400, "invalid", {"partners"})
    bad_email = couple_body(
        partners=[
            {"display_name": "X", "email": "nope"},
            {"display_name": "Y", "email": "y@example.test"},
        ]
    )
    assert_error(post(bad_email), 400, "invalid", {"partners[0].email"})
    assert_error(post(couple_body(clinicians=["00000000-0000-0000-0000-000000000000"])), 400)
    assert_error(post(couple_body(), content_type="text/plain"), 415)
    huge = couple_body(label="x" * (3 * 1024 * 1024))
    assert_error(post(huge), 413, "too_large")
    with scope(practice=world.a.practice):
        assert Couple.objects.filter(label__startswith="API").count() == 1
        assert not Couple.objects.filter(label="Dup").exists()
        assert Partner.objects.filter(email="c@example.test").count() == 0


@pytest.mark.django_db
def test_another_practices_ids_are_404_everywhere(world, cases, base):
    client = api(cases.a.token_secret)
    foreign = cases.b
    for path in (
        f"/couples/{foreign.couple.uuid}/",
        f"/couples/{foreign.couple.uuid}/partners/{foreign.partner_one.uuid}/",
        f"/results/{foreign.occurrence.uuid}/",
        f"/reports/{foreign.report.uuid}/",
        f"/assignments/{foreign.occurrence.assignment.uuid}/",
        f"/instruments/{foreign.custom_instrument.uuid}/",
    ):
        assert_error(client.get(base + path), 404)
    assert_error(client.post(base + f"/alerts/{foreign.alert.uuid}/acknowledge/"), 404)
    assignment = client.post(
        base + f"/couples/{cases.a.couple.uuid}/assignments/",
        {"instrument": str(foreign.custom_instrument.uuid), "first_due": str(timezone.localdate())},
        content_type="application/json",
    )
    assert_error(assignment, 400, fields={"instrument"})


# --- Worked flow: assign, answer, results, history, alerts ----------------------


@pytest.mark.django_db
def test_assign_then_read_results_history_and_alerts(world, cases, base):
    client = api(token_for(world.a.clinician, world.a.practice))
    couple = cases.a.couple
    instruments = client.get(base + "/instruments/").json()
    signs = next(i for i in instruments if i["key"] == "connection-signs")
    made = client.post(
        base + f"/couples/{couple.uuid}/assignments/",
        {
            "instrument": signs["uuid"],
            "first_due": str(timezone.localdate()),
            "repeat": {"every": 2, "unit": "weeks", "count": 3},
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    occurrence_uuid = made.json()["occurrences"][0]["uuid"]
    with scope(practice=world.a.practice):
        from assessments.models import Occurrence

        occurrence = Occurrence.objects.get(uuid=occurrence_uuid)
    answer(occurrence, cases.a.partner_one, {f"cs{i:02d}": 4 for i in range(1, 13)})
    answer(occurrence, cases.a.partner_two, {f"cs{i:02d}": 2 for i in range(1, 13)})
    results = client.get(base + f"/results/{occurrence_uuid}/").json()
    total = next(s for s in results["couple"]["scales"] if s["key"] == "total")
    assert (total["one"], total["two"], total["mean"]) == (3.5, 2.5, 3.0)
    assert len(results["couple"]["items"]) == 12
    history = client.get(base + f"/couples/{couple.uuid}/history/connection-pulse/").json()
    assert [len(p["points"]) for p in history["partners"]] == [1, 1]
    assert "single-item" in history["norms"]["reason"]
    assert_error(
        client.get(base + f"/couples/{couple.uuid}/history/connection-pulse/?scale=zz"),
        400,
        fields={"scale"},
    )
    responses = client.get(base + f"/couples/{couple.uuid}/responses/").json()["results"]
    assert {r["instrument"] for r in responses} >= {"connection-signs", "connection-pulse"}
    alerts = client.get(base + "/alerts/").json()["results"]
    assert alerts[0]["kind"] == "safety"
    acked = client.post(base + f"/alerts/{alerts[0]['uuid']}/acknowledge/")
    assert acked.json()["status"] == "acknowledged"
    assert_error(
        client.post(
            base + f"/alerts/{alerts[0]['uuid']}/resolve/", {}, content_type="application/json"
        ),
        400,
        fields={"note"},
    )
    resolved = client.post(
        base + f"/alerts/{alerts[0]['uuid']}/resolve/",
        {"note": "Called."},
        content_type="application/json",
    )
    assert resolved.json()["status"] == "resolved"
    paused = client.post(
        base + f"/assignments/{made.json()['uuid']}/status/",
        {"status": "paused"},
        content_type="application/json",
    )
    assert paused.json()["status"] == "paused"
    again = client.post(
        base + f"/assignments/{made.json()['uuid']}/status/",
        {"status": "paused"},
        content_type="application/json",
    )
    assert_error(again, 409, "conflict")


@pytest.mark.django_db
def test_report_create_poll_and_download_by_a_short_lived_link(world, cases, base):
    client = api(token_for(world.a.clinician, world.a.practice))
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post(
            base + f"/couples/{cases.a.couple.uuid}/reports/",
            {
                "kind": "couple",
                "period_start": str(timezone.localdate() - timedelta(days=30)),
                "period_end": str(timezone.localdate()),
            },
            content_type="application/json",
        )
    assert created.status_code == 202
    polled = client.get(base + f"/reports/{created.json()['uuid']}/").json()
    assert polled["status"] == "ready"
    link = polled["download_url"]
    assert link == "http://testserver/api/v1/files/reports/"
    token = polled["download_token"]
    path = link.removeprefix("http://testserver")
    # The token goes in the body, never the request line (access logs keep request lines).
    assert_error(Client().get(path), 405, "method_not_allowed")
    pdf = Client().post(path, {"token": token})  # no API token needed
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert "no-store" in pdf["Cache-Control"]
    as_json = Client().post(path, {"token": token}, content_type="application/json")
    assert as_json.status_code == 200
    # The signed payload is readable: it names report and user by UUID only.
    from django.core import signing

    claims = signing.loads(token, salt="reports.download")
    assert claims["r"] == polled["uuid"]
    assert User.objects.filter(uuid=claims["u"]).exists()  # a UUID, not a row number
    assert_error(Client().post(path, {"token": token[:-4] + "xxxx"}), 404)
    assert_error(Client().post(path, {}), 400, "invalid", {"token"})
    assert_error(Client().post(path, {"token": token, "extra": "1"}), 400, "invalid", {"extra"})
    assert_error(Client().post(path, "x", content_type="text/plain"), 415)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert_error(Client().post(path, {"token": token}), 410, "expired")
    released = client.post(
        base + f"/reports/{polled['uuid']}/", {"action": "release"}, content_type="application/json"
    )
    assert released.json()["released_at"]
    with scope(practice=world.a.practice):
        assert AuditEvent.objects.filter(action="report.download").exists()
    # Once access is gone, an unexpired token stops working too.
    fresh = client.get(base + f"/reports/{polled['uuid']}/").json()["download_token"]
    with scope(practice=world.a.practice):
        cases.a.couple.clinicians.clear()
    assert_error(Client().post(path, {"token": fresh}), 404)


@pytest.mark.django_db
def test_owners_read_the_audit_log_with_filters(world, cases, base):
    client = api(cases.a.token_secret)
    everything = client.get(base + "/audit/").json()["results"]
    assert everything
    signins = client.get(base + "/audit/?action=auth.sign_in").json()["results"]
    assert {e["action"] for e in signins} <= {"auth.sign_in"}
    assert_error(client.get(base + "/audit/?from=yesterday&actor=7"), 400, fields={"from", "actor"})


# --- Paging, query counts, throttling ---------------------------------------------


@pytest.mark.django_db
def test_couple_list_pages_by_cursor_without_counting_and_in_constant_queries(world, cases, base):
    client = api(cases.a.token_secret)
    bulk_couples(world.a.practice, world.a.owner, 4)
    client.get(base + "/couples/")
    with CaptureQueriesContext(connection) as few:
        small = client.get(base + "/couples/")
    assert len(small.json()["results"]) == 5
    bulk_couples(world.a.practice, world.a.owner, 295, start=4)
    with CaptureQueriesContext(connection) as many:
        page = client.get(base + "/couples/?limit=50").json()
    assert len(page["results"]) == 50
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not any(q["sql"].upper().startswith("SELECT COUNT(") for q in many.captured_queries)
    seen = [r["uuid"] for r in page["results"]]
    while page["next"]:
        page = client.get(page["next"].removeprefix("http://testserver")).json()
        seen += [r["uuid"] for r in page["results"]]
    assert len(seen) == len(set(seen)) == 300


@pytest.mark.django_db
def test_the_couple_list_orders_by_what_a_caseload_needs_across_cursor_pages(world, cases, base):
    client = api(cases.a.token_secret)
    bulk_couples(world.a.practice, world.a.owner, 12)

    def walk(ordering):
        page = client.get(base + f"/couples/?ordering={ordering}&limit=5").json()
        rows = list(page["results"])
        while page["next"]:
            page = client.get(page["next"].removeprefix("http://testserver")).json()
            rows += page["results"]
        assert len(rows) == len({r["uuid"] for r in rows}) == 13
        return rows

    labels = [r["label"] for r in walk("label")]
    assert labels == sorted(labels)
    assert [r["label"] for r in walk("-label")] == labels[::-1]
    # The case file's couple has a safety alert: most urgent first.
    assert walk("alerts")[0]["uuid"] == str(cases.a.couple.uuid)
    due = [r["next_due"] for r in walk("due")]
    known = [d for d in due if d is not None]
    assert known == sorted(known) and due[: len(known)] == known  # none last
    means = [
        sum(s["latest"] for s in r["connection"]) / 2
        if all(s["latest"] is not None for s in r["connection"])
        else None
        for r in walk("-connection")
    ]
    known_means = [m for m in means if m is not None]
    assert (
        known_means == sorted(known_means, reverse=True)
        and means[: len(known_means)] == known_means
    )
    assert_error(client.get(base + "/couples/?ordering=colour"), 400, fields={"ordering"})
    assert_error(client.get(base + "/couples/?status=bogus"), 400, fields={"status"})
    assistant = api(token_for(world.a.assistant, world.a.practice))
    assert_error(assistant.get(base + "/couples/?ordering=alerts"), 400, fields={"ordering"})
    assert assistant.get(base + "/couples/?ordering=due").status_code == 200


@pytest.mark.django_db
def test_the_report_list_filters_by_couple_status_and_kind(world, cases, base):
    client = api(cases.a.token_secret)
    other = make_couple(world.a.practice, world.a.owner, label="Other & Co", n=7)
    with scope(practice=world.a.practice):
        Report.objects.create(
            practice=world.a.practice,
            couple=other,
            kind="clinician",
            period_start=timezone.localdate(),
            period_end=timezone.localdate(),
        )
    every = client.get(base + "/reports/").json()["results"]
    assert {r["couple"] for r in every} == {str(cases.a.couple.uuid), str(other.uuid)}
    mine = client.get(base + f"/reports/?couple={cases.a.couple.uuid}").json()["results"]
    assert [r["uuid"] for r in mine] == [str(cases.a.report.uuid)]
    ready = client.get(base + "/reports/?status=ready&kind=couple").json()["results"]
    assert [r["uuid"] for r in ready] == [str(cases.a.report.uuid)]
    assert client.get(base + "/reports/?status=queued").json()["results"][0]["couple"] == (
        str(other.uuid)
    )
    assert_error(client.get(base + "/reports/?status=lost"), 400, fields={"status"})
    assert_error(
        client.get(base + f"/reports/?couple={cases.b.couple.uuid}"), 400, fields={"couple"}
    )


@pytest.mark.django_db
def test_results_endpoint_runs_constant_queries(world, cases, base):
    client = api(cases.a.token_secret)
    url = base + f"/results/{cases.a.occurrence.uuid}/"
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    signs = open_form(cases.a.couple, "connection-signs")
    answer(signs, cases.a.partner_one, {f"cs{i:02d}": 3 for i in range(1, 13)})
    answer(signs, cases.a.partner_two, {f"cs{i:02d}": 5 for i in range(1, 13)})
    with CaptureQueriesContext(connection) as second:
        body = client.get(base + f"/results/{signs.uuid}/").json()
    assert len(body["couple"]["items"]) == 12
    assert len(second.captured_queries) == len(first.captured_queries)


@pytest.mark.django_db
def test_throttling_per_token_answers_429_in_the_error_format(world, cases, base, monkeypatch):
    from practice.api_throttles import IpThrottle, TokenThrottle

    # The rates are read when the classes are defined: patch them there, restored after.
    rates = {"token": "3/minute", "ip": "1000/minute"}
    monkeypatch.setattr(TokenThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IpThrottle, "THROTTLE_RATES", rates)
    client = api(cases.a.token_secret)
    codes = [client.get(base + "/instruments/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(base + "/instruments/")
    assert_error(limited, 429, "throttled")
    assert int(limited["Retry-After"]) > 0
    other = api(token_for(world.a.clinician, world.a.practice))
    assert other.get(base + "/instruments/").status_code == 200  # per token


def test_the_ip_throttle_counts_every_caller_from_one_address(world, cases, base, monkeypatch):
    from practice.api_throttles import IpThrottle, TokenThrottle

    rates = {"token": "1000/minute", "ip": "4/minute"}
    monkeypatch.setattr(TokenThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IpThrottle, "THROTTLE_RATES", rates)
    first = api(cases.a.token_secret)
    second = api(token_for(world.a.clinician, world.a.practice))
    codes = [c.get(base + "/instruments/").status_code for c in (first, second) * 2]
    assert codes == [200, 200, 200, 200]
    assert_error(second.get(base + "/instruments/"), 429, "throttled")
    elsewhere = Client(
        headers={"Authorization": f"Token {cases.a.token_secret}"}, REMOTE_ADDR="198.51.100.7"
    )
    assert elsewhere.get(base + "/instruments/").status_code == 200


# --- The contract ------------------------------------------------------------------


def test_the_committed_schema_matches_the_code_and_spectacular_has_no_warnings(tmp_path):
    generated = tmp_path / "openapi.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(generated),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "docs" / "openapi.yaml").read_text()
    assert generated.read_text() == committed, "run `make schema` and commit docs/openapi.yaml"


@pytest.mark.django_db
def test_api_docs_are_served_from_installed_assets(client):
    page = client.get("/api/v1/schema/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    assert client.get("/api/v1/schema/").status_code == 200


@pytest.mark.django_db
def test_no_token_or_partner_data_ever_reaches_the_audit_details(world, cases, base):
    api(cases.a.token_secret).get(base + f"/couples/{cases.a.couple.uuid}/")
    with scopes_disabled():
        blob = json.dumps(list(AuditEvent.objects.values("details", "actor_label")))
    assert cases.a.token_secret not in blob
    assert cases.a.partner_one.display_name not in blob


@pytest.mark.django_db
def test_drafts_are_not_shown_to_clinicians(world, cases, base):
    draft_form = open_form(cases.a.couple, "connection-signs")
    answer(draft_form, cases.a.partner_one, {"cs01": 3}, submit=False)
    client = api(cases.a.token_secret)
    rows = client.get(base + f"/couples/{cases.a.couple.uuid}/responses/").json()["results"]
    assert rows
    assert {r["state"] for r in rows} == {"submitted"}
    assert all(r["occurrence"] != str(draft_form.uuid) for r in rows)


@pytest.mark.django_db
def test_deeply_nested_json_and_bad_filters_are_400_not_500(world, cases, base):
    client = api(cases.a.token_secret)
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post(base + "/couples/", nested, content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert_error(client.get(base + "/alerts/?couple=null"), 400, fields={"couple"})
    assert_error(client.get(base + "/couples/?clinician=nope"), 400, fields={"clinician"})
    assert (
        signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/?clinician=nope").status_code
        == 200
    )


@pytest.mark.django_db
def test_a_nul_character_anywhere_is_a_clear_400_and_stores_nothing(world, cases, base):
    """PostgreSQL cannot store U+0000 in text; every way in answers 400, never 500."""
    client = api(cases.a.token_secret)
    slug = world.a.practice.slug
    assert_error(client.get(base + "/couples/?q=%00"), 400, "parse_error")
    assert_error(client.get(base + "/audit/?action=a%00b"), 400, "parse_error")
    owner = signed_in(world.a.owner)
    for url in (f"/p/{slug}/?q=%00", f"/p/{slug}/audit/?action=%00"):
        page = owner.get(url)
        assert page.status_code == 400
        assert "NUL character" in page.content.decode()
    with scope(practice=world.a.practice):
        couples_before = Couple.objects.count()
    created = client.post(
        base + "/couples/", couple_body(label="Nul\u0000Label"), content_type="application/json"
    )
    assert_error(created, 400, "parse_error")
    definition = {**CUSTOM_DEFINITION, "key": "nul-check", "title": {"en": "x\u0000"}}
    upload = client.post(
        base + "/instruments/", {"definition": definition}, content_type="application/json"
    )
    assert_error(upload, 400, "parse_error")
    with scope(practice=world.a.practice):
        assert Couple.objects.count() == couples_before
        assert not Instrument.objects.filter(key="nul-check").exists()
    # The pure layer refuses it too, naming the place, whatever the way in.
    assert defn.problems(definition)[0] == defn.Problem(
        "title.en", "contains a NUL character (\\u0000)"
    )
    # The partner's autosave and the no-JavaScript form.
    screen = open_form(cases.a.couple, "safety-screen", partner=cases.a.partner_one)
    partner = portal_client(cases.a.partner_one)
    url = f"/api/v1/portal/forms/{screen.uuid}/answers/"
    saved = partner.patch(url, {"answers": {"ss06": "a\u0000b"}}, content_type="application/json")
    assert_error(saved, 400, "parse_error")
    form = partner.post(f"/portal/forms/{screen.uuid}/", {"a-ss06": "a\x00b", "save": "1"})
    assert form.status_code == 400
    assert (
        partner.post(f"/portal/forms/{screen.uuid}/", {"a-ss06": "fine", "save": "1"}).status_code
        == 302
    )
    with scope(practice=world.a.practice):
        assert Response.objects.get(partner=cases.a.partner_one, occurrence=screen).answers == {
            "ss06": "fine"
        }


@pytest.mark.django_db
def test_unknown_api_paths_answer_in_the_error_format(world, cases, base):
    client = api(cases.a.token_secret)
    for url in (base + "/couples/123/", "/api/v1/nope/", base + "/couples/not-a-uuid/partners/"):
        assert_error(client.get(url), 404, "not_found")
    # Outside the API the staff page stays HTML.
    page = signed_in(world.a.owner).get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_a_server_error_under_the_api_is_json_too(rf):
    from practice.views import server_error

    response = server_error(rf.get("/api/v1/p/x/couples/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
    assert server_error(rf.get("/p/x/"))["Content-Type"].startswith("text/html")


# --- What the dashboard does, through the API too -----------------------------------


@pytest.mark.django_db
def test_owners_read_and_change_practice_settings(world, cases, base):
    owner = api(cases.a.token_secret)
    settings_url = base + "/settings/"
    current = owner.get(settings_url).json()
    assert current["session_timeout_minutes"] == 30 and current["slug"] == "alpha-practice"
    changed = owner.patch(
        settings_url,
        {"session_timeout_minutes": 15, "accent_colour": "#123abc"},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    world.a.practice.refresh_from_db()
    assert (world.a.practice.session_timeout_minutes, world.a.practice.accent_colour) == (
        15,
        "#123abc",
    )
    with scope(practice=world.a.practice):
        event = AuditEvent.objects.filter(action="practice.update").latest("at")
    assert event.details["fields"] == ["accent_colour", "session_timeout_minutes"]
    bad = owner.patch(
        settings_url,
        {"session_timeout_minutes": 1, "accent_colour": "teal", "slug": "mine"},
        content_type="application/json",
    )
    assert_error(bad, 400, fields={"slug"})
    bad = owner.patch(
        settings_url,
        {"session_timeout_minutes": 1, "accent_colour": "teal"},
        content_type="application/json",
    )
    assert_error(bad, 400, fields={"session_timeout_minutes", "accent_colour"})
    pale = owner.patch(settings_url, {"accent_colour": "#ffcc00"}, content_type="application/json")
    assert_error(pale, 400, fields={"accent_colour"})
    assert "4.5:1" in str(pale.json())
    clinician = api(token_for(world.a.clinician, world.a.practice))
    assert_error(clinician.get(settings_url), 404)


@pytest.mark.django_db
def test_clinicians_add_and_read_notes_assistants_cannot(world, cases, base):
    url = base + f"/couples/{cases.a.couple.uuid}/notes/"
    clinician = api(token_for(world.a.clinician, world.a.practice))
    created = clinician.post(
        url, {"body": "  Talked about the move.  "}, content_type="application/json"
    )
    assert created.status_code == 201
    assert created.json()["body"] == "Talked about the move."
    listed = clinician.get(url).json()
    assert [n["body"] for n in listed] == ["Talked about the move."]
    assert listed[0]["author"] == world.a.clinician.full_name
    assert_error(clinician.post(url, {"body": "   "}, content_type="application/json"), 400)
    assistant = api(token_for(world.a.assistant, world.a.practice))
    assert_error(assistant.get(url), 404)
    assert_error(assistant.post(url, {"body": "x"}, content_type="application/json"), 404)


@pytest.mark.django_db
def test_a_submitted_response_is_reopened_once_and_audited(world, cases, base):
    client = api(token_for(world.a.clinician, world.a.practice))
    url = base + f"/responses/{cases.a.response.uuid}/reopen/"
    reopened = client.post(url)
    assert reopened.status_code == 200
    assert reopened.json()["state"] == "draft" and reopened.json()["reopened_at"]
    with scope(practice=world.a.practice):
        assert not Score.objects.filter(response=cases.a.response).exists()
        assert AuditEvent.objects.filter(action="response.reopen").count() == 1
    assert_error(client.post(url), 409, "conflict")  # already a draft


@pytest.mark.django_db
def test_a_batch_of_reports_for_all_active_couples_is_followed_by_its_status(world, cases, base):
    client = api(cases.a.token_secret)
    body = {
        "kind": "couple",
        "period_start": str(timezone.localdate() - timedelta(days=30)),
        "period_end": str(timezone.localdate()),
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post(base + "/report-batches/", body, content_type="application/json")
    assert created.status_code == 202, created.content
    batch = created.json()
    assert batch["total"] == 1 and [r["couple"] for r in batch["reports"]] == [
        str(cases.a.couple.uuid)
    ]
    polled = client.get(base + f"/report-batches/{batch['uuid']}/").json()
    assert polled["finished"] and polled["counts"]["ready"] == 1
    assert polled["reports"][0]["download_url"]
    assert_error(
        client.post(
            base + "/report-batches/", {**body, "kind": "weekly"}, content_type="application/json"
        ),
        400,
        fields={"kind"},
    )
