"""Two-factor sign-in in a real browser: enrol by the QR page's key, sign in with a code
computed here from that key, and sign in with a recovery code when the phone is lost."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import staff_sign_in
from tests.factories import TEST_PASSWORD
from tests.test_two_factor import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def enrol_in_browser(page, base_url: str) -> tuple[str, list[str]]:
    """Open the set-up page from the account menu, read the key, confirm with its code."""
    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Two-factor sign-in").click()
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(code_for(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.locator(".recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    return secret, codes


def password_step(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/sign-in/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()


def test_enrol_sign_in_with_a_code_and_with_a_recovery_code(new_context, live_server, world):
    clinician = world.a.clinician
    page = new_context()
    staff_sign_in(page, live_server.url, clinician)
    secret, codes = enrol_in_browser(page, live_server.url)
    page.get_by_role("button", name="Sign out").click()

    # Next time step: an authenticator never accepts the same code twice.
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        password_step(page, live_server.url, clinician.email)
        page.get_by_label("Code").fill(code_for(secret))
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(re.compile(f"/p/{world.a.practice.slug}/$"))
        page.get_by_role("button", name="Sign out").click()

    # The phone is lost: a recovery code works, once.
    password_step(page, live_server.url, clinician.email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(f"/p/{world.a.practice.slug}/$"))
    page.get_by_role("button", name="Sign out").click()
    password_step(page, live_server.url, clinician.email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
