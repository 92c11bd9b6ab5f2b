"""Layout checks a scanner cannot make: what fits, what wraps, what scrolls into view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ONE_LINE = """() => {
  const row = document.querySelector(".topbar-inner");
  const tops = [...row.children].map((el) => Math.round(el.getBoundingClientRect().top));
  const bottoms = [...row.children].map((el) => Math.round(el.getBoundingClientRect().bottom));
  return {tops, bottoms, height: row.getBoundingClientRect().height};
}"""


def test_the_owner_header_fits_on_one_line_at_1280(new_context, live_server, world):
    page = new_context(**DESKTOP)
    staff_sign_in(page, live_server.url, world.a.owner)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    # Every link an owner has: seven sections, then the account menu and sign-out.
    assert page.get_by_role("navigation", name="Main").get_by_role("link").count() == 7
    row = page.evaluate(ONE_LINE)
    # Brand, navigation and account menu share one row: none starts below another's bottom.
    assert max(row["tops"]) < min(row["bottoms"]), row
    assert row["height"] < 70, row
    page.locator(".account-menu summary").click()
    expect(page.get_by_role("link", name="API tokens")).to_be_visible()
    expect(page.get_by_role("link", name="Two-factor sign-in")).to_be_visible()
