"""Layout checks a scanner cannot make: what fits, what wraps, what scrolls into view."""

from __future__ import annotations

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, portal_sign_in, staff_sign_in
from tests.factories import make_couple, open_form

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


NARROW = {"viewport": {"width": 320, "height": 640}}


def test_the_couple_page_fits_a_320_px_screen_with_a_long_email(
    new_context, live_server, world, cases
):
    from clients.models import Partner

    with scope(practice=world.a.practice):
        Partner.objects.filter(pk=cases.a.partner_one.pk).update(
            email="a.very.long.address.that.never.breaks@counselling-practice.example.test"
        )
    page = new_context(**NARROW)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    staff_sign_in(page, live_server.url, world.a.clinician)
    page.goto(f"{live_server.url}/p/{world.a.practice.slug}/couples/{cases.a.couple.uuid}/")
    expect(page.get_by_role("heading", name=cases.a.couple.label, level=1)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the couple page is {width} px wide on a 320 px screen"
    # The favicon is linked, so no page asks for a missing /favicon.ico.
    assert failed == []


def test_report_detail_follows_rendering_without_reloading(new_context, live_server, world, cases):
    """The status is polled and announced; the page itself is never reloaded."""
    from reports.models import Report, ReportStatus

    with scope(practice=world.a.practice):
        Report.objects.filter(pk=cases.a.report.pk).update(status=ReportStatus.RENDERING)
    page = new_context(**DESKTOP)
    staff_sign_in(page, live_server.url, world.a.clinician)
    page.goto(f"{live_server.url}/p/{world.a.practice.slug}/reports/{cases.a.report.uuid}/")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    page.evaluate("window.__samePage = true")
    with scope(practice=world.a.practice):
        Report.objects.filter(pk=cases.a.report.pk).update(status=ReportStatus.READY)
    expect(page.locator("#live-progress")).to_have_text("Report status: Ready.", timeout=10_000)
    expect(page.get_by_role("link", name="Download PDF").first).to_be_visible()
    assert page.evaluate("window.__samePage === true")


def test_tabbing_into_a_question_shows_its_options(new_context, live_server, world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one = couple.partners.order_by("position").first()
    occurrence = open_form(couple, "connection-signs", partner=one)
    page = new_context(**PHONE)
    portal_sign_in(page, live_server.url, one)
    page.goto(f"{live_server.url}/portal/forms/{occurrence.uuid}/")
    first = page.locator(".option input").first
    first.focus()
    for _ in range(40):  # Tab through several questions, checking each one landed on
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const option = el.closest('.option');
                if (!option) return null;
                const box = option.getBoundingClientRect();
                return {top: box.top, bottom: box.bottom, height: innerHeight};
            }"""
        )
        if focused is None:
            continue
        assert focused["top"] >= 0 and focused["bottom"] <= focused["height"], focused


def test_couple_tabs_pass_axe_charts_fill_the_card_and_alerts_keep_you_there(
    new_context, live_server, world, cases
):
    from tests.browser.test_accessibility import BLOCKING, Scanner

    page = new_context(**DESKTOP)
    staff_sign_in(page, live_server.url, world.a.clinician)
    couple_page = f"{live_server.url}/p/{world.a.practice.slug}/couples/{cases.a.couple.uuid}/"
    page.goto(couple_page)
    tabs = page.get_by_role("navigation", name=f"Sections about {cases.a.couple.label}")
    expect(tabs.get_by_role("link", name="Results")).to_have_attribute("aria-current", "page")
    chart = page.locator(".couple-results .chart-image").first
    expect(chart).to_be_visible()
    card = page.locator(".couple-results .history-card").first
    assert chart.bounding_box()["width"] > card.bounding_box()["width"] * 0.9
    axe = Scanner(page, BLOCKING)
    axe.scan("couple results")
    for name in ("Forms", "Reports and data", "Notes", "Activity"):
        tabs.get_by_role("link", name=name).click()
        expect(tabs.get_by_role("link", name=name)).to_have_attribute("aria-current", "page")
        axe.scan(f"couple {name}")
    assert not axe.failures, "axe found serious or critical problems:\n" + axe.report()

    page.goto(couple_page)
    page.locator("#alerts").get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Alert acknowledged.")).to_be_visible()
    assert page.url == couple_page


LEGEND_BOXES = """() => {
  const svg = document.querySelector("svg");
  const view = svg.getBoundingClientRect();
  const legend = svg.querySelector("[id^=legend_]");
  const boxes = [...legend.querySelectorAll("text, path, use, g[id^=text_]")]
    .map((el) => el.getBoundingClientRect())
    .filter((box) => box.width > 0 && box.height > 0);
  const outside = boxes.filter((box) =>
    box.left < view.left - 0.5 || box.right > view.right + 0.5
    || box.top < view.top - 0.5 || box.bottom > view.bottom + 0.5);
  return {count: boxes.length, outside: outside.map((b) => [b.left, b.top, b.right, b.bottom]),
          view: [view.left, view.top, view.right, view.bottom]};
}"""


@pytest.mark.parametrize(
    "names",
    [
        ("Ana", "Li", "Sam"),
        (
            "Alexandra Montgomery-Wright",
            "Bartholomew Oyelaran-Fitzgerald",
            "Chidinma Okonkwo-Barnes",
        ),
    ],
)
def test_a_three_partner_chart_keeps_its_whole_legend_inside_the_picture(new_context, names):
    """Three partner lines, the couple average and the reliable-change star: five legend
    entries, every one inside the SVG's own box (nothing cut off at the bottom or side)."""
    from datetime import date, timedelta

    from assessments import charts

    days = [date(2026, 9, 1) + timedelta(days=14 * i) for i in range(6)]
    series = [
        charts.Series(name, [(d, 3 + i + k * 0.5) for k, d in enumerate(days)], frozenset({2}))
        for i, name in enumerate(names)
    ]
    series.append(
        charts.Series("Couple average (shared questions)", [(d, 4.5) for d in days], style=2)
    )
    svg = charts.history_svg(
        title="Connection Pulse",
        series=series,
        y_range=(0, 10),
        y_label="Score",
        x_label="Date answered",
        bands=[charts.Band(0, 4, "Low"), charts.Band(4, 7, "Middle"), charts.Band(7, 10, "High")],
        width=6.6,
        height=3.3,
    )
    page = new_context(**DESKTOP)
    page.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
    seen = page.evaluate(LEGEND_BOXES)
    assert seen["count"] >= 10, seen  # five entries, each a mark and a label
    assert seen["outside"] == [], seen
