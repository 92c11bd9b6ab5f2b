"""The portal's isolation matrix: every portal route, generated from the URLconf.

A partner reaches only their own couple's forms, and never the forms meant
for the other partner alone; nobody without a portal session reaches
anything but the sign-in pages.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from reports.models import Report
from tests.conftest import World, make_staff, module_db
from tests.conftest import signed_in_quickly as signed_in
from tests.factories import answer, make_couple, open_form
from tests.isolation import routes
from tests.test_portal import portal_client

PUBLIC = {
    "portal/enter/<str:token>/",
    "portal/sign-in/",
    "portal/sign-in/sent/",
    "portal/exit/",
    "portal/signed-out/",
    # The portal script's translations: the same public text for everyone.
    "portal/i18n/<str:language>.js",
    # Signing in with a link by API, as portal/enter/ does: tests/test_api_strict.py.
    "api/v1/portal/session/",
}


def portal_routes():
    return [r for r in routes() if r.template.startswith(("portal/", "api/v1/portal/"))]


def methods_for(client, url):
    response = client.get(url)
    if response.status_code != 405:
        return ["GET"]
    return [m.strip() for m in response["Allow"].split(",") if m.strip() not in {"OPTIONS", "HEAD"}]


@pytest.fixture(scope="module")
def shared(module_data_root, django_db_blocker):
    """The scene below, built once for the whole module."""
    with module_db(django_db_blocker, module_data_root):
        world = World(a=make_staff("Alpha"), b=make_staff("Bravo"))
        return world, build_scene(world)


@pytest.fixture
def private_root(module_data_root):
    return module_data_root


@pytest.fixture
def world(shared, db):
    return shared[0]


@pytest.fixture
def scene(shared, db):
    return shared[1]


def build_scene(world):
    """Couple X (partners A and B) and couple Y in the same practice, plus couple Z elsewhere."""
    x = make_couple(world.a.practice, world.a.clinician, label="X", n=1)
    y = make_couple(world.a.practice, world.a.clinician, label="Y", n=2)
    z = make_couple(world.b.practice, world.b.clinician, label="Z", n=3)
    with scope(practice=world.a.practice):
        a, b = x.partners.order_by("position")
        y_one = y.partners.get(position=1)
    with scope(practice=world.b.practice):
        z_one = z.partners.get(position=1)
    reports = {
        "x_released": released_report(x, world.a.clinician),
        "x_unreleased": released_report(x, world.a.clinician, release=False),
        "y_released": released_report(y, world.a.clinician),
        "z_released": released_report(z, world.b.clinician),
    }
    return {
        "a": a,
        "b": b,
        "y_one": y_one,
        "z_one": z_one,
        "shared": open_form(x),
        "only_b": open_form(x, "safety-screen", partner=b),
        "y_form": open_form(y),
        "z_form": open_form(z),
        **reports,
    }


def released_report(couple, clinician, release=True):
    with scope(practice=couple.practice):
        report = Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind="couple",
            status="ready",
            period_start=timezone.localdate(),
            period_end=timezone.localdate(),
            released_at=timezone.now() if release else None,
        )
        report.file.save(f"{report.uuid}.pdf", ContentFile(b"%PDF-1.7 stand-in"), save=True)
    return report


def values(scene, occurrence="shared", report="x_released"):
    return {"occurrence_id": scene[occurrence].uuid, "report_id": scene[report].uuid}


def test_every_portal_route_is_in_the_matrix():
    templates = {r.template for r in portal_routes()}
    assert templates >= PUBLIC
    assert len(templates - PUBLIC) >= 8


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route",
    [r for r in portal_routes() if {"occurrence_id", "report_id"} & set(r.params)],
    ids=lambda r: r.name,
)
def test_partners_reach_only_their_own_forms_and_released_reports(scene, route):
    partner_a = portal_client(scene["a"])
    own = route.url(values(scene))
    methods = methods_for(partner_a, own)
    for method in methods:
        response = getattr(partner_a, method.lower())(own, content_type="application/json")
        assert response.status_code != 404, f"{method} {own}: the control could not reach it"
    if "report_id" in route.params:
        foreign = [values(scene, report=r) for r in ("x_unreleased", "y_released", "z_released")]
    else:
        foreign = [values(scene, occurrence=o) for o in ("only_b", "y_form", "z_form")]
    for kwargs in foreign:
        url = route.url(kwargs)
        for method in methods:
            response = getattr(partner_a, method.lower())(url, content_type="application/json")
            assert response.status_code == 404, f"{method} {url} -> {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", [r for r in portal_routes() if r.template not in PUBLIC], ids=lambda r: r.name
)
def test_no_portal_session_no_access(world, scene, route):
    url = route.url(values(scene))
    for client in (Client(), signed_in(world.a.owner)):  # staff are not partners
        for method in ("GET", "POST"):
            response = getattr(client, method.lower())(url)
            if url.startswith("/api/"):
                assert response.status_code == 401, url
            else:
                assert response.status_code == 302, url
                assert response["Location"] == "/portal/sign-in/"


@pytest.mark.django_db
def test_a_partner_never_sees_the_other_partners_answers(scene):
    answer(scene["shared"], scene["a"], {"pulse": 9}, submit=False)
    partner_b = portal_client(scene["b"])
    html = partner_b.get(f"/portal/forms/{scene['shared'].uuid}/").content.decode()
    assert not re.search(r"checked", html)
    answer(
        scene["only_b"],
        scene["b"],
        {"ss01": 1, "ss02": 0, "ss03": 0, "ss04": 0, "ss05": 0, "ss06": "private words"},
    )
    partner_a = portal_client(scene["a"])
    home = partner_a.get("/portal/").content.decode()
    assert "Private check-in" not in home
    assert partner_a.get(f"/portal/forms/{scene['only_b'].uuid}/done/").status_code == 404
    for url in ("/portal/", f"/portal/forms/{scene['shared'].uuid}/"):
        assert "private words" not in partner_a.get(url).content.decode()


@pytest.mark.django_db
def test_the_portal_not_found_page_keeps_the_quick_exit_and_leads_home(scene):
    partner_a = portal_client(scene["a"])
    response = partner_a.get(f"/portal/forms/{scene['only_b'].uuid}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'href="/portal/exit/"' in html and "data-quick-exit" in html
    assert 'href="/portal/">Back to your questionnaires' in html
    assert "no-store" in response["Cache-Control"]
    # Staff pages keep the staff page, which knows nothing of the portal.
    staff = Client().get("/p/nowhere/couples/")
    assert staff.status_code in (302, 404)
    assert "data-quick-exit" not in staff.content.decode()
    assert "data-quick-exit" not in Client().get("/no-such-page/").content.decode()
