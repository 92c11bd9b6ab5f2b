"""Error pages: the portal's keep Quick exit and look like the portal; 503 when the database
is down; the portal's script gets its words from the djangojs catalogue; drafts are keyed by
a per-session value, never the partner's name."""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError
from django.test import Client
from django_scopes import scope

from tests.factories import make_couple, open_form
from tests.test_portal import portal_client


@pytest.fixture
def partner(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        return couple.partners.get(position=1)


def failing(monkeypatch, exc: Exception) -> None:
    """Make every portal request fail where the middleware looks up the partner."""
    from clients import portal

    def broken(request):
        raise exc

    monkeypatch.setattr(portal, "_current_partner", broken)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("exc", "status", "heading"),
    [
        (RuntimeError("bug"), 500, "Something went wrong"),
        (OperationalError("connection refused"), 503, "Not available right now"),
    ],
)
def test_portal_error_pages_keep_quick_exit_and_the_portal_look(
    partner, monkeypatch, exc, status, heading
):
    client = portal_client(partner)
    failing(monkeypatch, exc)
    client.raise_request_exception = False
    page = client.get("/portal/")
    html = page.content.decode()
    assert page.status_code == status
    assert heading in html
    assert 'class="quick-exit" href="/portal/exit/"' in html and "data-quick-exit" in html
    assert 'class="portal"' in html and "Private questionnaires" in html
    assert "/static/js/portal.js" in html
    assert (page.get("Retry-After") == "30") == (status == 503)
    # Nothing about the partner on a page drawn without the request.
    assert partner.display_name not in html


@pytest.mark.django_db
def test_staff_and_api_error_pages(world, monkeypatch):
    from practice import middleware

    def broken(self, request):
        raise OperationalError("connection refused")

    monkeypatch.setattr(middleware.PracticeScopeMiddleware, "__call__", broken)
    client = Client(raise_request_exception=False)
    page = client.get(f"/p/{world.a.practice.slug}/")
    assert page.status_code == 503 and "Not available right now" in page.content.decode()
    assert "quick-exit" not in page.content.decode()
    api = client.get(f"/api/v1/p/{world.a.practice.slug}/couples/")
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "unavailable"


@pytest.mark.django_db
def test_error_pages_speak_spanish(partner, monkeypatch):
    client = portal_client(partner)
    failing(monkeypatch, RuntimeError("bug"))
    client.raise_request_exception = False
    page = client.get("/portal/", HTTP_ACCEPT_LANGUAGE="es")
    assert "Algo salió mal" in page.content.decode()
    assert "Salida rápida" in page.content.decode()


@pytest.mark.django_db
def test_the_portal_script_catalogue_is_served_per_language(client):
    spanish = client.get("/portal/i18n/es.js")
    assert spanish.status_code == 200
    body = spanish.content.decode()
    assert "Connection lost." in body and "Tus respuestas se conservan en este dispositivo" in body
    assert client.get("/portal/i18n/xx.js").status_code == 404


@pytest.mark.django_db
def test_drafts_are_keyed_by_a_random_per_session_value(world, partner):
    occurrence = open_form(partner.couple)
    first, second = portal_client(partner), portal_client(partner)
    scopes = []
    for browser in (first, second):
        html = browser.get(f"/portal/forms/{occurrence.uuid}/").content.decode()
        scopes.append(re.search(r'data-draft-scope="([^"]+)"', html)[1])
        assert f'data-occurrence="{occurrence.uuid}"' in html
    assert scopes[0] != scopes[1]
    assert all(len(s) >= 16 and partner.display_name not in s for s in scopes)
    # The same session keeps its value from page to page.
    again = first.get("/portal/").content.decode()
    assert re.search(r'data-draft-scope="([^"]+)"', again)[1] == scopes[0]


@pytest.mark.django_db
def test_portal_pages_have_no_inline_script(world, partner):
    occurrence = open_form(partner.couple)
    client = portal_client(partner)
    for url in (
        "/portal/",
        f"/portal/forms/{occurrence.uuid}/",
        f"/portal/forms/{occurrence.uuid}/review/",
    ):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert " on" + "click=" not in html
