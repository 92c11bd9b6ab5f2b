"""One strictness everywhere in the API: paging parameters, bodies, paths, challenges,
who the caller is, and the portal's own sign-in; with the outsider of practice B."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import yaml
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from clients.models import AccessLinkPurpose, Couple, PortalState
from clients.services import invitation_lifetime, new_access_link
from practice.api_schema import ERROR_CODES
from tests.factories import make_couple, open_form
from tests.test_api import ROOT, api, assert_error, couple_body, token_for


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


# --- paging -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["abc", "0", "-3", "201", "5000", "1.5", ""])
def test_a_bad_limit_is_a_400_naming_it(world, cases, base, limit):
    client = api(token_for(world.a.clinician, world.a.practice))
    for path in (
        "/couples/",
        "/alerts/",
        "/reports/",
        f"/couples/{cases.a.couple.uuid}/responses/",
    ):
        assert_error(client.get(base + path, {"limit": limit}), 400, "invalid", {"limit"})


@pytest.mark.django_db
def test_a_cursor_the_api_did_not_hand_out_is_a_400_naming_it(world, cases, base):
    client = api(token_for(world.a.owner, world.a.practice))
    for cursor in ("garbage!", "%%%", base64.b64encode(b"o=x").decode()):
        for path in ("/couples/", "/alerts/", "/reports/", "/audit/"):
            assert_error(client.get(base + path, {"cursor": cursor}), 400, "invalid", {"cursor"})
    # Well-formed, but its position does not fit the list's order (a time, a number).
    forged = base64.b64encode(b"p=not-a-time&o=0").decode()
    for path in ("/alerts/", "/reports/", "/audit/"):
        assert_error(client.get(base + path, {"cursor": forged}), 400, "invalid", {"cursor"})


@pytest.mark.django_db
def test_following_next_visits_every_couple_once(world, cases, base):
    for n in range(3):
        make_couple(world.a.practice, world.a.clinician, label=f"Paged {n}", n=n + 10)
    client = api(token_for(world.a.clinician, world.a.practice))
    seen, url = [], base + "/couples/?limit=1"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 1
        seen += [row["uuid"] for row in page["results"]]
        url = page["next"] and page["next"].removeprefix("http://testserver")
    with scope(practice=world.a.practice):
        assert sorted(seen) == sorted(
            str(c.uuid) for c in Couple.objects.filter(clinicians=world.a.clinician)
        )
    assert len(seen) == 4


# --- bodies -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_call_that_takes_no_body_refuses_one(world, cases, base):
    client = api(token_for(world.a.clinician, world.a.practice))
    path = base + f"/alerts/{cases.a.alert.uuid}/acknowledge/"
    assert_error(
        client.post(path, {"note": "seen"}, content_type="application/json"),
        400,
        "invalid",
        {"note"},
    )
    assert_error(client.post(path, "seen", content_type="text/plain"), 415)
    assert_error(client.post(path, "[1]", content_type="application/json"), 400, "invalid")
    assert client.post(path).status_code == 200  # nothing sent: fine
    assert client.post(path, "{}", content_type="application/json").status_code == 200
    invite = base + f"/couples/{cases.a.couple.uuid}/partners/{cases.a.partner_one.uuid}/invite/"
    assert_error(
        client.post(invite, {"email": "x@example.test"}, content_type="application/json"),
        400,
        "invalid",
        {"email"},
    )


@pytest.mark.django_db
def test_portal_answers_refuse_unknown_fields(cases):
    from tests.test_portal import portal_client

    occurrence = open_form(cases.a.couple, "connection-pulse")
    browser = portal_client(cases.a.partner_one, enforce_csrf_checks=False)
    path = f"/api/v1/portal/forms/{occurrence.uuid}/answers/"
    body = json.dumps({"answers": {"pulse": 5}, "extra": True})
    assert_error(
        browser.patch(path, body, content_type="application/json"), 400, "invalid", {"extra"}
    )
    assert_error(browser.patch(path, "pulse=5", content_type="text/plain"), 415)


# --- paths and challenges -----------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_path_without_its_slash_answers_json_and_keeps_the_method(world, cases, base):
    client = api(token_for(world.a.clinician, world.a.practice))
    moved = client.get(base + "/couples?limit=1")
    assert moved.status_code == 308
    assert moved["Location"] == base + "/couples/?limit=1"
    assert moved.json()["error"]["code"] == "moved"
    posted = client.post(base + "/couples", couple_body(), content_type="application/json")
    assert posted.status_code == 308  # 308: the client repeats the POST with its body
    assert_error(client.get(base + "/nothing-here"), 404, "not_found")
    assert_error(client.get("/api/v1/nope"), 404, "not_found")
    # Pages outside the API keep Django's usual redirect.
    assert Client().get("/accounts/sign-in").status_code == 301


@pytest.mark.django_db
def test_every_401_names_how_to_authenticate(world, base):
    for response in (
        Client().get(base + "/couples/"),
        Client().get("/api/v1/practices/"),
        Client().get("/api/v1/me/"),
        api("att_not-a-real-token").get(base + "/couples/"),
        Client(headers={"Authorization": "Basic eDp5"}).get(base + "/couples/"),
    ):
        assert_error(response, 401)
        assert "Token" in response["WWW-Authenticate"]
    portal = Client().get("/api/v1/portal/forms/")
    assert_error(portal, 401)
    assert portal["WWW-Authenticate"] == 'Session realm="portal"'


@pytest.mark.django_db
def test_a_bearer_token_works_like_a_token(world, base):
    secret = token_for(world.a.clinician, world.a.practice)
    bearer = Client(headers={"Authorization": f"Bearer {secret}"})
    assert bearer.get(base + "/couples/").status_code == 200


@pytest.mark.django_db
def test_a_post_to_the_download_address_without_a_token_is_json(world):
    for response in (
        Client().post("/api/v1/files/reports/"),
        Client().post("/api/v1/files/reports/", {"token": "x"}),
        Client().put("/api/v1/files/reports/"),
    ):
        assert response["Content-Type"] == "application/json"
        assert set(response.json()) == {"error"}


# --- who am I, and couples a clinician creates --------------------------------------------


@pytest.mark.django_db
def test_me_names_user_roles_and_two_factor(world):
    me = api(token_for(world.a.clinician, world.a.practice)).get("/api/v1/me/").json()
    assert me["uuid"] == str(world.a.clinician.uuid)
    assert me["authenticated_by"] == "token"
    assert me["two_factor_verified"] is None
    [membership] = me["memberships"]
    assert membership["practice"] == world.a.practice.slug
    assert membership["role"] == "clinician"
    assert "view_clinical" in membership["capabilities"]
    assert "see_all_couples" not in membership["capabilities"]
    # A session sees every practice of the person; the outsider's practice never appears.
    from practice.models import Membership

    Membership.objects.create(practice=world.b.practice, user=world.a.clinician, role="assistant")
    browser = Client()
    browser.force_login(world.a.clinician)
    session = browser.get("/api/v1/me/").json()
    assert session["authenticated_by"] == "session"
    assert session["two_factor_verified"] is False
    assert {m["practice"]: m["role"] for m in session["memberships"]} == {
        world.a.practice.slug: "clinician",
        world.b.practice.slug: "assistant",
    }
    token_b = api(token_for(world.b.owner, world.b.practice)).get("/api/v1/me/").json()
    assert [m["practice"] for m in token_b["memberships"]] == [world.b.practice.slug]


@pytest.mark.django_db
def test_a_clinician_who_creates_a_couple_is_its_clinician_unless_naming_others(world, base):
    clinician = api(token_for(world.a.clinician, world.a.practice))
    created = clinician.post(base + "/couples/", couple_body(), content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert [c["uuid"] for c in body["clinicians"]] == [str(world.a.clinician.uuid)]
    assert clinician.get(base + f"/couples/{body['uuid']}/").status_code == 200
    others = couple_body(
        label="Handed over",
        clinicians=[str(world.a.owner.uuid)],
        partners=[
            {"display_name": "C", "email": "c@example.test"},
            {"display_name": "D", "email": "d@example.test"},
        ],
    )
    handed = clinician.post(base + "/couples/", others, content_type="application/json").json()
    assert [c["uuid"] for c in handed["clinicians"]] == [str(world.a.owner.uuid)]
    assert clinician.get(base + f"/couples/{handed['uuid']}/").status_code == 404
    assistant = api(token_for(world.a.assistant, world.a.practice))
    unassigned = couple_body(
        label="Front desk",
        partners=[
            {"display_name": "E", "email": "e@example.test"},
            {"display_name": "F", "email": "f@example.test"},
        ],
    )
    made = assistant.post(base + "/couples/", unassigned, content_type="application/json").json()
    assert made["clinicians"] == []
    # The outsider's clinician cannot be named.
    foreign = couple_body(label="Foreign", clinicians=[str(world.b.clinician.uuid)])
    assert_error(
        clinician.post(base + "/couples/", foreign, content_type="application/json"),
        400,
        "invalid",
        {"clinicians"},
    )


# --- the portal's sign-in by API ----------------------------------------------------------


@pytest.mark.django_db
def test_a_partner_signs_in_with_the_emailed_link_once(world, cases, base):
    staff = api(token_for(world.a.clinician, world.a.practice))
    partner = cases.a.partner_two
    mail.outbox.clear()
    invited = staff.post(base + f"/couples/{cases.a.couple.uuid}/partners/{partner.uuid}/invite/")
    assert invited.status_code == 202
    token = mail.outbox[0].body.split("/portal/enter/")[1].split("/")[0]
    browser = Client(enforce_csrf_checks=True)
    signed = browser.post("/api/v1/portal/session/", {"token": token}, "application/json")
    assert signed.status_code == 201, signed.content
    assert signed.json()["partner"] == str(partner.uuid)
    csrf = signed.json()["csrf_token"]
    forms = browser.get("/api/v1/portal/forms/").json()
    occurrence = open_form(cases.a.couple, "connection-pulse")
    forms = browser.get("/api/v1/portal/forms/").json()
    assert str(occurrence.uuid) in [f["occurrence"] for f in forms]
    path = f"/api/v1/portal/forms/{occurrence.uuid}/answers/"
    body = json.dumps({"answers": {"pulse": 6}})
    assert_error(browser.patch(path, body, content_type="application/json"), 403)
    saved = browser.patch(
        path, body, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert saved.status_code == 200, saved.content
    again = Client().post("/api/v1/portal/session/", {"token": token}, "application/json")
    assert_error(again, 410, "used")
    assert_error(
        Client().post("/api/v1/portal/session/", {"token": "nope"}, "application/json"),
        404,
        "not_found",
    )
    assert_error(
        Client().post("/api/v1/portal/session/", {"token": token, "x": 1}, "application/json"),
        400,
        "invalid",
        {"x"},
    )
    # Revoked: the state of the partner ends the link too.
    with scope(practice=world.a.practice):
        partner.portal_state = PortalState.INVITED
        partner.save()
        _, fresh = new_access_link(partner, AccessLinkPurpose.INVITATION, invitation_lifetime())
    staff.post(base + f"/couples/{cases.a.couple.uuid}/partners/{partner.uuid}/revoke/")
    assert_error(
        Client().post("/api/v1/portal/session/", {"token": fresh}, "application/json"),
        410,
        "revoked",
    )


# --- the schema says so -------------------------------------------------------------------


def _schema() -> dict:
    return yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())


def test_every_operation_has_its_own_summary_and_description():
    operations = [op for item in _schema()["paths"].values() for op in item.values()]
    assert all(op.get("summary") for op in operations)
    descriptions = [op["description"] for op in operations]
    assert len(set(descriptions)) == len(descriptions)
    assert not any("Base of staff endpoints" in d for d in descriptions)


def test_every_paged_list_declares_cursor_and_limit():
    schema = _schema()
    paged = 0
    for item in schema["paths"].values():
        for operation in item.values():
            ok = operation["responses"].get("200", {}).get("content", {}).get("application/json")
            ref = (ok or {}).get("schema", {}).get("$ref", "")
            if ref.startswith("#/components/schemas/Paginated"):
                paged += 1
                names = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
                assert {"cursor", "limit"} <= set(names), operation["operationId"]
                assert names["limit"]["schema"]["maximum"] == 200
    assert paged >= 5


def test_errors_are_listed_per_operation_only_where_they_can_happen():
    by_id = {op["operationId"]: op for item in _schema()["paths"].values() for op in item.values()}
    assert "409" not in by_id["couples_list"]["responses"]
    assert "409" in by_id["assignments_set_status"]["responses"]
    assert "410" in by_id["reports_download"]["responses"]
    assert "401" not in by_id["reports_download"]["responses"]
    assert "415" not in by_id["couples_retrieve"]["responses"]
    assert "405" not in by_id["couples_retrieve"]["responses"]
    download = by_id["reports_download"]["responses"]["200"]["content"]
    assert download["application/pdf"]["schema"]["format"] == "binary"


def test_the_error_code_catalogue_is_in_the_docs_and_the_schema():
    docs = (ROOT / "docs" / "api.md").read_text()
    described = _schema()["components"]["schemas"]["Error"]["properties"]["error"]
    catalogue = described["properties"]["code"]["description"]
    for code, status, _when in ERROR_CODES:
        assert f"| `{code}` | {status} |" in docs, code
        assert f"`{code}` ({status})" in catalogue, code


@pytest.mark.django_db
def test_the_live_schema_has_one_version(world):
    browser = Client()
    browser.force_login(world.a.owner)
    text = browser.get("/api/v1/schema/").content.decode()
    assert "version: 1.0.0\n" in text
    assert "1.0.0 (1.0.0)" not in text


@pytest.mark.django_db
def test_schedule_refusals_are_named_inside_repeat(world, cases, base):
    client = api(token_for(world.a.clinician, world.a.practice))
    pulse = next(
        i for i in client.get(base + "/instruments/").json() if i["key"] == "connection-pulse"
    )
    path = base + f"/couples/{cases.a.couple.uuid}/assignments/"
    today = timezone.localdate()
    backwards = {
        "instrument": pulse["uuid"],
        "first_due": str(today + timedelta(days=10)),
        "repeat": {"every": 1, "unit": "weeks", "until": str(today + timedelta(days=2))},
    }
    assert_error(
        client.post(path, backwards, content_type="application/json"),
        400,
        "invalid",
        {"repeat.until"},
    )
    endless = {**backwards, "repeat": {"every": 1, "unit": "weeks", "colour": "red"}}
    assert_error(
        client.post(path, endless, content_type="application/json"),
        400,
        "invalid",
        {"repeat.colour"},
    )
