"""axe-core on every portal page (desktop and phone) and on the main staff pages."""

from __future__ import annotations

import uuid

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    axe_violations,
    broken_idrefs,
    describe,
    invitation_path,
    staff_sign_in,
)
from tests.factories import SAFE_ANSWERS, answer, make_couple, open_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUILT_IN = [
    "connection-pulse",
    "connection-signs",
    "everyday-bond",
    "elements-of-connection",
    "safety-screen",
]
BLOCKING = {"serious", "critical"}


class Scanner:
    """Collects axe results page by page, so one run reports every failing page."""

    def __init__(self, page: Page, blocking: set[str]) -> None:
        self.page = page
        self.blocking = blocking
        self.failures: dict[str, list[dict]] = {}
        self.reported: dict[str, list[dict]] = {}
        self.scanned: list[str] = []

    def scan(self, name: str) -> None:
        violations = axe_violations(self.page) + broken_idrefs(self.page)
        self.scanned.append(name)
        bad = [v for v in violations if v["impact"] in self.blocking]
        if bad:
            self.failures[name] = bad
        serious = [v for v in violations if v["impact"] == "serious" and v not in bad]
        if serious:
            self.reported[name] = serious

    def report(self) -> str:
        return "\n".join(f"{name}:\n{describe(v)}" for name, v in self.failures.items())

    def print_reported(self) -> None:
        for name, violations in self.reported.items():
            print(f"serious (reported, not failing) on {name}:\n{describe(violations)}")


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_portal_page_passes_axe(new_context, live_server, world, device):
    practice = world.a.practice
    practice.support_resources = (
        "Domestic abuse helpline: 0808 2000 247\n"
        "https://www.nationaldahelpline.org.uk/en/Contact-us/Live-chat-and-contact-form"
    )
    practice.save()
    couple = make_couple(practice, world.a.clinician)
    with scope(practice=practice):
        one = couple.partners.order_by("position").first()
    occurrences = {key: open_form(couple, key, partner=one) for key in BUILT_IN}
    base = live_server.url
    page = new_context(**device)
    axe = Scanner(page, BLOCKING)

    page.goto(f"{base}/portal/sign-in/")
    axe.scan("sign-in")
    page.get_by_label("Your email address").fill(one.email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    axe.scan("sign-in sent")

    page.goto(f"{base}/portal/enter/not-a-real-token/")
    axe.scan("enter (continue)")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="This link does not work any more")).to_be_visible()
    axe.scan("link refused")

    page.goto(base + invitation_path(one))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"Hello, {one.display_name}")).to_be_visible()
    axe.scan("home")

    for key, occurrence in occurrences.items():
        page.goto(f"{base}/portal/forms/{occurrence.uuid}/")
        expect(page.locator("fieldset.question").first).to_be_visible()
        axe.scan(f"form {key}")

    # Validation errors, through the no-JS path: post a value outside the options.
    signs = occurrences["connection-signs"]
    page.goto(f"{base}/portal/forms/{signs.uuid}/")
    page.locator("#a-cs02-5").evaluate("radio => { radio.value = '9'; radio.checked = true; }")
    page.locator("#a-cs01-4").evaluate("radio => { radio.checked = true; }")
    page.get_by_role("button", name="Save and continue later").click()
    expect(page.get_by_text("Please look at 1 question below.")).to_be_visible()
    expect(page.locator("#err-cs02")).to_have_text("Choose one of the answers offered.")
    expect(page.locator("#form-errors")).to_be_focused()
    axe.scan("form with errors")

    page.goto(f"{base}/portal/forms/{signs.uuid}/review/")
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    axe.scan("review (answers missing)")

    safety = occurrences["safety-screen"]
    answer(safety, one, SAFE_ANSWERS)
    page.goto(f"{base}/portal/forms/{safety.uuid}/done/")
    expect(page.get_by_role("heading", name="If you need support")).to_be_visible()
    expect(page.get_by_text("0808 2000 247")).to_be_visible()
    axe.scan("done (safety screen, support resources)")

    page.goto(f"{base}/portal/forms/{uuid.uuid4()}/")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("link", name="Quick exit")).to_be_visible()
    axe.scan("not found")

    page.goto(f"{base}/portal/support/")
    axe.scan("support")
    page.goto(f"{base}/portal/account/")
    axe.scan("account")
    page.get_by_role("button", name="Sign out on this device").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    axe.scan("signed out")

    assert len(axe.scanned) == 17
    axe.print_reported()
    assert not axe.failures, "axe found serious or critical problems:\n" + axe.report()


def test_staff_pages_have_no_critical_axe_problems(new_context, live_server, world, cases):
    practice = world.a.practice
    base = live_server.url
    page = new_context(**DESKTOP)
    axe = Scanner(page, {"critical"})

    page.goto(f"{base}/accounts/sign-in/")
    axe.scan("staff sign-in")
    staff_sign_in(page, base, world.a.clinician)
    expect(page.get_by_role("link", name=cases.a.couple.label)).to_be_visible()
    axe.scan("caseload")
    page.get_by_role("link", name=cases.a.couple.label).click()
    expect(page.get_by_role("heading", name=cases.a.couple.label, level=1)).to_be_visible()
    axe.scan("couple")
    page.goto(f"{base}/p/{practice.slug}/results/{cases.a.occurrence.uuid}/")
    expect(page.get_by_role("columnheader", name="Couple mean")).to_be_visible()
    axe.scan("results")

    axe.print_reported()
    assert not axe.failures, "axe found critical problems:\n" + axe.report()
