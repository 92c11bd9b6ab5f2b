"""Staff in a real browser: create a couple, invite both partners, and role limits."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import staff_sign_in
from tests.browser.test_two_factor import enrol_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_new_couple(page, label: str, partners: list[tuple[str, str]], clinician: str = "") -> None:
    """Fill the "Add a couple" form the way a keyboard user would: field by label."""
    case = page.get_by_role("group", name="The case")
    case.get_by_label("Label").fill(label)
    case.get_by_label("Status").select_option(label="Active")
    if clinician:
        case.get_by_label(clinician).check()
    for n, (name, email) in enumerate(partners, start=1):
        group = page.get_by_role("group", name=f"Partner {n}")
        group.get_by_label("Name").fill(name)
        group.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Create the couple").click()


def test_clinician_creates_a_couple_and_invites_both_partners(new_context, live_server, world):
    practice = world.a.practice
    page = new_context()
    staff_sign_in(page, live_server.url, world.a.clinician)
    expect(page).to_have_url(f"{live_server.url}/p/{practice.slug}/")
    expect(page.get_by_text("Your caseload is empty.")).to_be_visible()

    page.get_by_role("link", name="Add a couple").first.click()
    expect(page.get_by_role("heading", name="Add a couple", level=1)).to_be_visible()
    # The clinician's own box is ticked for them; nobody from another practice is offered.
    expect(page.get_by_label(world.a.clinician.full_name)).to_be_checked()
    expect(page.get_by_label(world.b.clinician.full_name)).to_have_count(0)
    fill_new_couple(
        page,
        "Rivera & Chen",
        [("Ana Rivera", "ana.rivera@example.test"), ("Li Chen", "li.chen@example.test")],
    )

    expect(page).to_have_url(re.compile(rf"/p/{practice.slug}/couples/[0-9a-f-]+/$"))
    expect(page.get_by_role("heading", name="Rivera & Chen", level=1)).to_be_visible()
    expect(page.get_by_text("Couple created.")).to_be_visible()
    for name in ("Ana Rivera", "Li Chen"):
        card = page.locator("article.partner-card").filter(
            has=page.get_by_role("heading", name=name)
        )
        expect(card.get_by_text("Not invited")).to_be_visible()
        card.get_by_role("button", name="Invite to portal").click()
        expect(page.get_by_text(f"Invitation sent to {name}.")).to_be_visible()
        card = page.locator("article.partner-card").filter(
            has=page.get_by_role("heading", name=name)
        )
        expect(card.locator(".badge", has_text="Invited")).to_be_visible()
        expect(card.get_by_role("button", name="Resend invitation")).to_be_visible()
    expect(page.locator("article.partner-card .badge", has_text="Invited")).to_have_count(2)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Rivera & Chen"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ana Rivera")
    expect(row).to_contain_text("Li Chen")
    expect(page.get_by_role("columnheader", name="Connection (1–10)")).to_be_visible()

    assert sorted(m.to[0] for m in mail.outbox) == [
        "ana.rivera@example.test",
        "li.chen@example.test",
    ]
    for message in mail.outbox:
        assert re.search(r"https?://\S+/portal/enter/[\w-]+/", message.body), message.body


def test_assistant_creates_a_couple_but_sees_nothing_clinical(new_context, live_server, world):
    practice = world.a.practice
    page = new_context()
    staff_sign_in(page, live_server.url, world.a.assistant)
    expect(page).to_have_url(f"{live_server.url}/p/{practice.slug}/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Alerts")).to_have_count(0)

    page.get_by_role("link", name="Add a couple").first.click()
    fill_new_couple(
        page,
        "Okafor & Berg",
        [("Ngozi Okafor", "ngozi@example.test"), ("Jonas Berg", "jonas@example.test")],
        clinician=world.a.clinician.full_name,
    )
    expect(page.get_by_role("heading", name="Okafor & Berg", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Clinician notes")).to_have_count(0)

    nav.get_by_role("link", name="Caseload").click()
    expect(page.get_by_role("link", name="Okafor & Berg")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Couple")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Connection (1–10)")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Alerts")).to_have_count(0)

    response = page.goto(f"{live_server.url}/p/{practice.slug}/alerts/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_owner_sees_every_couple_brands_the_practice_and_manages_members(
    new_context, live_server, world
):
    """The owner's day: the whole practice's caseload, branding and session timeout,
    a colleague invited and given a role, and the audit log of it all."""
    from tests.factories import make_couple

    practice = world.a.practice
    make_couple(practice, world.a.clinician, label="Assigned & Elsewhere", n=1)
    page = new_context()
    staff_sign_in(page, live_server.url, world.a.owner)
    # Settings and roles need a recent second factor: the owner sets one up first.
    enrol_in_browser(page, live_server.url)
    # Owners see every couple, not only their own.
    expect(page.get_by_role("link", name="Assigned & Elsewhere")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Display name").fill("Harbour Light Therapy")
    page.get_by_label("Sign out after idle minutes").fill("20")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.locator("a.brand").first).to_have_text("Harbour Light Therapy")

    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Members"
    ).click()
    page.get_by_label("Full name").fill("Noor Haddad")
    page.get_by_label("Email").fill("noor.haddad@example.test")
    page.get_by_label("Role (required)").select_option(label="Assistant")
    page.get_by_role("button", name="Send invitation").click()
    # Waiting for Noor to accept; a member only once they do.
    expect(page.get_by_role("cell", name="noor.haddad@example.test", exact=True)).to_be_visible()
    assert any("noor.haddad@example.test" in m.to for m in mail.outbox)
    colleague = world.a.clinician.full_name
    page.get_by_label(f"Role of {colleague}").select_option(label="Assistant")
    page.get_by_role("row", name=re.compile(colleague)).get_by_role("button", name="Change").click()
    expect(page.get_by_text("Role changed.")).to_be_visible()
    expect(page.get_by_label(f"Role of {colleague}")).to_have_value("assistant")

    page.get_by_role("link", name="Audit log").click()
    for action in ("Changed practice settings", "Invited a member", "Changed a member's role"):
        expect(page.get_by_role("cell", name=action).first).to_be_visible()
    practice.refresh_from_db()
    assert (practice.display_name, practice.session_timeout_minutes) == (
        "Harbour Light Therapy",
        20,
    )
