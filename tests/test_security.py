"""Findings of the outside probe that are about refusals: batch pages answer like the API,
and refused reaches for another practice's or partner's data leave a security event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from practice.models import AuditEvent, Role
from tests.conftest import signed_in_quickly as signed_in
from tests.factories import MembershipFactory
from tests.test_portal import portal_client

ROOT = Path(__file__).resolve().parent.parent


# Both practices and their case files are built once for this module (tests/conftest.py).
@pytest.fixture
def private_root(module_data_root):
    return module_data_root


@pytest.fixture
def world(shared_world_and_cases):
    return shared_world_and_cases[0]


@pytest.fixture
def cases(shared_world_and_cases):
    return shared_world_and_cases[1]


def refusals(practice):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action="security.refused", practice=practice))


@pytest.mark.django_db
def test_a_colleague_gets_404_on_a_batch_of_someone_elses_couples_page_and_api(world, cases):
    colleague = MembershipFactory(practice=world.a.practice, role=Role.CLINICIAN).user
    slug = world.a.practice.slug
    batch = cases.a.batch.uuid
    client = signed_in(colleague)
    assert client.get(f"/p/{slug}/reports/batches/{batch}/").status_code == 404
    assert client.get(f"/api/v1/p/{slug}/report-batches/{batch}/").status_code == 404
    # Its owner (the clinician of its couple) still sees it.
    assert (
        signed_in(world.a.clinician).get(f"/p/{slug}/reports/batches/{batch}/").status_code == 200
    )


@pytest.mark.django_db
def test_reaching_into_another_practice_is_a_security_event_for_its_owners(world, cases):
    outsider = signed_in(world.b.owner)
    couple = cases.a.couple.uuid
    for _ in range(5):
        assert outsider.get(f"/p/{world.a.practice.slug}/couples/{couple}/").status_code == 404
        assert outsider.get(f"/api/v1/p/{world.a.practice.slug}/couples/").status_code == 404
    # Rate-limited: one event per caller, practice and reason in the window.
    events = refusals(world.a.practice)
    assert [(e.actor, e.details["reason"]) for e in events] == [(world.b.owner, "other_practice")]
    page = signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/audit/").content.decode()
    assert "Refused: data of another practice or partner" in page


@pytest.mark.django_db
def test_another_practices_ids_under_your_own_address_are_logged_in_yours(world, cases):
    outsider = signed_in(world.b.owner)
    url = f"/api/v1/p/{world.b.practice.slug}/couples/{cases.a.couple.uuid}/"
    assert outsider.get(url).status_code == 404
    events = refusals(world.b.practice)
    assert [(e.actor, e.details["reason"], e.details["route"]) for e in events] == [
        (world.b.owner, "not_yours_or_unknown", "api:couple")
    ]
    assert refusals(world.a.practice) == []


@pytest.mark.django_db
def test_a_partner_reaching_for_the_other_partners_private_form_is_logged(world, cases):
    other = portal_client(cases.a.partner_two)
    assert other.get(f"/portal/forms/{cases.a.safety_occurrence.uuid}/").status_code == 404
    events = refusals(world.a.practice)
    assert [(e.actor_label, e.details["reason"]) for e in events] == [
        (f"partner:{cases.a.partner_two.uuid}", "other_partner_or_unknown")
    ]


# --- strict CSP, Permissions-Policy and no-store (finding 4) ----------------------------------

TEMPLATE_ROOTS = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def served_templates() -> list[Path]:
    """Every HTML template a browser receives (PDF templates go to WeasyPrint only)."""
    return [
        path
        for root in TEMPLATE_ROOTS
        for path in root.rglob("*.html")
        if "/pdf/" not in path.as_posix()
    ]


def test_no_served_template_has_inline_code_or_styles():
    assert len(served_templates()) > 40
    problems = []
    for path in served_templates():
        text = path.read_text()
        if INLINE_HANDLER.search(text):
            problems.append(f"{path}: inline event handler")
        if re.search(r"\sstyle\s*=", text):
            problems.append(f"{path}: style attribute")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                problems.append(f"{path}: inline script {tag}")
        for tag in re.findall(r"<style\b[^>]*>", text):
            if "nonce=" not in tag:
                problems.append(f"{path}: style block without the nonce")
        # Charts from matplotlib carry style attributes: they go in as images.
        if re.search(r"svg\s*\|\s*safe", text):
            problems.append(f"{path}: inline SVG (use the svg_image filter)")
    assert problems == []


def csp_of(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_staff_and_portal_pages_carry_a_strict_csp_permissions_policy_and_no_store(world, cases):
    owner = signed_in(world.a.owner)
    slug = world.a.practice.slug
    partner = portal_client(cases.a.partner_one)
    pages = [
        (owner, f"/p/{slug}/"),
        (owner, f"/p/{slug}/settings/"),
        (owner, f"/p/{slug}/settings/members/"),
        (owner, f"/p/{slug}/instruments/"),
        (owner, f"/p/{slug}/instruments/{cases.a.custom_instrument.uuid}/"),
        (owner, f"/p/{slug}/couples/{cases.a.couple.uuid}/"),
        (owner, f"/p/{slug}/audit/"),
        (owner, f"/p/{slug}/no-such-page/"),
        (owner, "/no-such-page/"),
        (partner, "/portal/"),
        (partner, "/portal/no-such-page/"),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        policy = csp_of(response)
        # Our own files, plus this response's nonce when the page used one.
        for directive in ("script-src", "style-src"):
            assert policy[directive][0] == "'self'", url
            assert all(v.startswith("'nonce-") for v in policy[directive][1:]), url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
        assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert "camera=()" in response["Permissions-Policy"], url
        assert "no-store" in response["Cache-Control"], url
    # The accent colour comes in a style block carrying this response's nonce.
    page = owner.get(f"/p/{slug}/")
    nonce = csp_of(page)["style-src"][1].removeprefix("'nonce-").removesuffix("'")
    assert f'<style nonce="{nonce}">body {{ --accent: #2f6f6a; }}</style>' in page.content.decode()
