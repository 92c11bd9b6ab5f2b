"""Real-browser fixtures: Debian's Chromium driven by Playwright against the live server.

Playwright's sync API runs an event loop in the main thread, and Django refuses
ORM calls from a thread with a running loop. Test code (factories, assertions
on the database) runs in that thread, so the documented escape hatch is set
before anything touches the ORM.
"""

from __future__ import annotations

import contextlib
import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from clients.models import AccessLinkPurpose, Partner, PortalState
from clients.services import invitation_lifetime, new_access_link
from practice.models import User
from tests.factories import TEST_PASSWORD

# The fault suite's own Redis and workers, for test_portal_outages.py.
from tests.faults.harness import stack  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 15_000

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
expect.set_options(timeout=TIMEOUT_MS)

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Open a fresh browser context (one per person) and return its first page.

    On a failing test every open page is saved to test-artifacts/ to help diagnosis.
    Every walk also fails on any Content Security Policy violation the browser
    reports (Chromium logs each one to the console), on every page it opened.
    """
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def watch(page: Page) -> None:
        # Our pages only: Chromium's own offline error page (chrome-error://) breaks its
        # own policy when a test takes the network away, which says nothing about ours.
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                and page.url.startswith(("http://", "https://"))
                else None
            ),
        )

    def open_page(**options: object) -> Page:
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.on("page", watch)
        contexts.append(context)
        return context.new_page()

    yield open_page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                # Best effort, on a test that has already failed.
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=ARTIFACTS / f"failed-{request.node.name}-{n}-{m}.png", full_page=True
                    )
    for context in contexts:
        context.close()
    assert violations == [], "Content Security Policy violations:\n" + "\n".join(violations)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def staff_sign_in(page: Page, base_url: str, user: User) -> None:
    """Sign a staff member in through the real sign-in form."""
    page.goto(f"{base_url}/accounts/sign-in/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/sign-in/" not in url)


def invitation_path(partner: Partner) -> str:
    """A fresh invitation link for the partner, as the invitation email would carry."""
    with scope(practice=partner.practice):
        if partner.portal_state == PortalState.NOT_INVITED:
            partner.portal_state = PortalState.INVITED
            partner.save(update_fields=["portal_state"])
        _, token = new_access_link(partner, AccessLinkPurpose.INVITATION, invitation_lifetime())
    return f"/portal/enter/{token}/"


def portal_sign_in(page: Page, base_url: str, partner: Partner) -> None:
    """Open an invitation link and press "Continue", as a partner does."""
    page.goto(base_url + invitation_path(partner))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base_url}/portal/")


def no_horizontal_scroll(page: Page) -> bool:
    """Nothing is wider than the screen.

    With ``is_mobile`` Chromium widens the layout viewport to fit overflowing
    content (as phones do, zooming the page out), so ``window.innerWidth`` grows
    with the overflow and ``scrollWidth <= innerWidth`` alone always holds. The
    root element's clientWidth stays the device width, so it is compared too.
    """
    return page.evaluate(
        """() => {
            const width = document.documentElement.scrollWidth;
            return width <= window.innerWidth && width <= document.documentElement.clientWidth;
        }"""
    )


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core on the page as it is now and return its violations.

    WCAG 2.2's target-size rule (off by default in axe 4.x) is switched on: these
    pages are answered with a thumb.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the test harness, not added as an inline <script> the page's
        # Content Security Policy would (rightly) refuse.
        page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate(
        "async () => await axe.run(document, {rules: {'target-size': {enabled: true}}})"
    )
    return result["violations"]


BROKEN_IDREFS = """() => {
  const broken = [];
  const attributes = ["aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage"];
  for (const el of document.querySelectorAll("[aria-describedby], [aria-labelledby], "
      + "[aria-controls], [aria-errormessage], label[for]")) {
    const refs = [];
    for (const name of attributes) {
      for (const id of (el.getAttribute(name) || "").split(/\\s+/)) if (id) refs.push([name, id]);
    }
    if (el.tagName === "LABEL" && el.htmlFor) refs.push(["for", el.htmlFor]);
    for (const [name, id] of refs) {
      if (!document.getElementById(id)) {
        broken.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ${name}="${id}"`);
      }
    }
  }
  return broken;
}"""


def broken_idrefs(page: Page) -> list[dict]:
    """References to ids that are not on the page, shaped like an axe violation.

    axe files these under "incomplete" (an id might be added later), yet a help
    text or error that a screen reader never announces is a real defect.
    """
    broken = page.evaluate(BROKEN_IDREFS)
    if not broken:
        return []
    return [
        {
            "id": "broken-idref",
            "impact": "serious",
            "help": "aria-describedby, aria-labelledby and label[for] must name ids on the page",
            "nodes": [{"target": [b]} for b in broken],
        }
    ]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        target = v["nodes"][0]["target"] if v["nodes"] else "?"
        lines.append(
            f"  {v['id']} [{v['impact']}] {v['help']} -> {target} ({len(v['nodes'])} nodes)"
        )
    return "\n".join(lines)
