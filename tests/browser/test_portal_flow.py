"""Partners in real browsers: answer, autosave, reload, submit, privacy, keyboard, phone."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from assessments.models import Response, ResponseState
from tests.browser.conftest import (
    PHONE,
    no_horizontal_scroll,
    portal_sign_in,
    staff_sign_in,
)
from tests.factories import SAFE_ANSWERS, answer, make_couple, open_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNS = [f"cs{i:02d}" for i in range(1, 13)]
BUILT_IN = [
    "connection-pulse",
    "connection-signs",
    "everyday-bond",
    "elements-of-connection",
    "safety-screen",
]


@pytest.fixture
def couple(world):
    return make_couple(world.a.practice, world.a.clinician, label="Rivera & Chen")


@pytest.fixture
def partners(couple):
    with scope(practice=couple.practice):
        return list(couple.partners.order_by("position"))


def choose(page: Page, link_id: str, position: int) -> None:
    """Click the visible label of an answer (the radio itself is visually hidden).

    On the built-in 1-5 scales the n-th option has the value n.
    """
    page.locator(f"label[for='a-{link_id}-{position}']").click()
    expect(page.locator(f"#a-{link_id}-{position}")).to_be_checked()


def expect_saved(page: Page, answered: int, total: int) -> None:
    """The autosave round trip finished: the server's count is on the page."""
    expect(page.locator("#progress-text")).to_have_text(f"{answered} of {total} answered")
    expect(page.locator("#save-status")).to_have_text("Saved")


def csrf_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def progress_value(page: Page) -> int:
    return page.locator("#progress").evaluate("bar => bar.value")


FIRST_HALF, SECOND_HALF = SIGNS[:6], SIGNS[6:]


def answer_first_half(page: Page, answers: dict[str, int]) -> None:
    page.get_by_role("link", name="Connection Signs Inventory", exact=True).click()
    expect(page.get_by_role("heading", name="Connection Signs Inventory", level=1)).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("0 of 12 answered")
    for link_id in FIRST_HALF:
        choose(page, link_id, answers[link_id])
    expect_saved(page, 6, 12)


def reload_and_find_answers_kept(page: Page, answers: dict[str, int]) -> None:
    page.reload()
    for link_id in FIRST_HALF:
        expect(page.locator(f"#a-{link_id}-{answers[link_id]}")).to_be_checked()
    expect(page.locator(f"#q-{SECOND_HALF[0]} input:checked")).to_have_count(0)
    assert progress_value(page) == 6
    expect(page.locator("#progress-text")).to_have_text("6 of 12 answered")


def answer_by_keyboard(page: Page, link_id: str, position: int) -> None:
    """Tab into the question's radio group, Space to choose, arrow keys to change."""
    previous = SIGNS[SIGNS.index(link_id) - 1]
    page.locator(f"#q-{previous} input:checked").focus()
    page.keyboard.press("Tab")
    expect(page.locator(f"#a-{link_id}-1")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator(f"#a-{link_id}-1")).to_be_checked()
    for _ in range(position - 1):
        page.keyboard.press("ArrowRight")
    chosen = page.locator(f"#a-{link_id}-{position}")
    expect(chosen).to_be_checked()
    expect(chosen).to_be_focused()
    # The focused radio is invisible: its label must show the focus ring.
    outline = page.locator(f"label[for='a-{link_id}-{position}']").evaluate(
        "label => getComputedStyle(label).outlineStyle"
    )
    assert outline == "solid"


def finish_and_submit(page: Page, answers: dict[str, int]) -> None:
    """The first question of the second half by keyboard, the rest by touch; review; send."""
    keyboard_item = SECOND_HALF[0]
    answer_by_keyboard(page, keyboard_item, answers[keyboard_item])
    expect_saved(page, 7, 12)  # the keyboard answer autosaved too
    for link_id in SECOND_HALF:
        if link_id != keyboard_item:
            choose(page, link_id, answers[link_id])
    expect_saved(page, 12, 12)
    page.get_by_role("button", name="Review my answers").click()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    expect(page.get_by_text("still need")).to_have_count(0)
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/portal/forms/[0-9a-f-]+/done/$"))


def test_two_partners_answer_privately_and_the_clinician_sees_both(
    new_context, live_server, world, couple, partners
):
    one, two = partners
    signs = open_form(couple, "connection-signs")
    safety_b = open_form(couple, "safety-screen", partner=two)
    base = live_server.url

    page_a = new_context()
    page_b = new_context()
    portal_sign_in(page_a, base, one)
    portal_sign_in(page_b, base, two)
    expect(page_a.get_by_text(f"Signed in as {one.display_name}.")).to_be_visible()
    expect(page_b.get_by_text(f"Signed in as {two.display_name}.")).to_be_visible()
    # Only B has the private safety check-in.
    expect(page_a.get_by_role("link", name="Private check-in", exact=True)).to_have_count(0)
    expect(page_b.get_by_role("link", name="Private check-in", exact=True)).to_be_visible()
    expect(page_b.locator(".form-card")).to_have_count(2)

    answers_a = dict.fromkeys(SIGNS, 4) | {"cs02": 2, "cs05": 5}
    answers_b = dict.fromkeys(SIGNS, 3) | {"cs02": 1, "cs07": 2, "cs10": 5}
    # Step by step, in turn: both drafts are open at the same time.
    answer_first_half(page_a, answers_a)
    answer_first_half(page_b, answers_b)
    reload_and_find_answers_kept(page_a, answers_a)
    reload_and_find_answers_kept(page_b, answers_b)
    finish_and_submit(page_a, answers_a)
    finish_and_submit(page_b, answers_b)

    with scope(practice=couple.practice):
        saved = {r.partner_id: r for r in Response.objects.filter(occurrence=signs)}
        assert saved[one.pk].state == saved[two.pk].state == ResponseState.SUBMITTED
        assert saved[one.pk].answers == answers_a
        assert saved[two.pk].answers == answers_b

    # The other partner's form is not there at all, for A.
    response = page_a.goto(f"{base}/portal/forms/{safety_b.uuid}/")
    assert response.status == 404
    expect(page_a.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page_a.get_by_text("afraid of my partner")).to_have_count(0)
    api = page_a.request.patch(
        f"{base}/api/v1/portal/forms/{safety_b.uuid}/answers/",
        data={"answers": {"ss01": 1}},
        headers={"X-CSRFToken": csrf_token(page_a)},
        fail_on_status_code=False,
    )
    assert api.status == 404

    clinician = new_context()
    staff_sign_in(clinician, base, world.a.clinician)
    clinician.goto(f"{base}/p/{couple.practice.slug}/results/{signs.uuid}/")
    scores = clinician.get_by_role("table").first
    expect(scores.get_by_role("columnheader", name=one.display_name)).to_be_visible()
    expect(scores.get_by_role("columnheader", name=two.display_name)).to_be_visible()
    expect(scores.get_by_role("columnheader", name="Couple mean")).to_be_visible()
    expect(clinician.get_by_text("not submitted")).to_have_count(0)


def test_without_javascript_answers_save_and_continue_later(
    new_context, live_server, couple, partners
):
    one = partners[0]
    occurrence = open_form(couple, "connection-signs")
    base = live_server.url
    page = new_context(java_script_enabled=False)
    portal_sign_in(page, base, one)
    page.get_by_role("link", name="Connection Signs Inventory", exact=True).click()
    choose(page, "cs01", 5)
    choose(page, "cs02", 2)
    page.get_by_role("button", name="Save and continue later").click()
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.get_by_text("Saved. You can come back and finish any time.")).to_be_visible()
    expect(page.get_by_text("2 of 12 answered")).to_be_visible()

    page.get_by_role("link", name=re.compile("^Continue")).click()
    expect(page.locator("#a-cs01-5")).to_be_checked()
    expect(page.locator("#a-cs02-2")).to_be_checked()
    for link_id in SIGNS[2:]:
        choose(page, link_id, 3)
    page.get_by_role("button", name="Review my answers").click()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    with scope(practice=couple.practice):
        response = Response.objects.get(occurrence=occurrence, partner=one)
        assert response.state == ResponseState.SUBMITTED
        assert response.answers["cs01"] == 5


def test_answers_given_before_the_script_has_loaded_are_saved_too(
    new_context, live_server, couple, partners
):
    """On a slow connection the page can be answered before portal.js runs: those clicks
    have no listener yet, so the script sends whatever differs from the page it was given."""
    one = partners[0]
    occurrence = open_form(couple, "connection-signs")
    base = live_server.url
    page = new_context()
    portal_sign_in(page, base, one)
    held: list = []
    page.route("**/js/portal*.js", lambda route: held.append(route))
    page.goto(f"{base}/portal/forms/{occurrence.uuid}/", wait_until="commit")
    choose(page, "cs01", 5)
    choose(page, "cs02", 2)
    assert held, "the script should still be held back"
    for route in held:
        route.continue_()
    page.unroute("**/js/portal*.js")
    expect_saved(page, 2, 12)
    with scope(practice=couple.practice):
        response = Response.objects.get(occurrence=occurrence, partner=one)
        assert response.answers == {"cs01": 5, "cs02": 2}


def test_on_a_phone_nothing_scrolls_sideways(
    new_context, live_server, artifacts, world, couple, partners
):
    world.a.practice.support_resources = (
        "Domestic abuse helpline: 0808 2000 247\n"
        "https://www.nationaldahelpline.org.uk/en/Contact-us/Live-chat-and-contact-form"
    )
    world.a.practice.save()
    one = partners[0]
    occurrences = {key: open_form(couple, key, partner=one) for key in BUILT_IN}
    base = live_server.url
    page = new_context(**PHONE)
    portal_sign_in(page, base, one)
    expect(page.locator(".form-card")).to_have_count(len(BUILT_IN))
    page.screenshot(path=artifacts / "portal-home-phone.png")
    page.screenshot(path=artifacts / "portal-home-phone-full.png", full_page=True)
    assert no_horizontal_scroll(page), "home scrolls sideways on a phone"

    for key, occurrence in occurrences.items():
        page.goto(f"{base}/portal/forms/{occurrence.uuid}/")
        expect(page.locator("fieldset.question").first).to_be_visible()
        if key == "connection-pulse":
            page.locator("#q-pulse").scroll_into_view_if_needed()
            page.screenshot(path=artifacts / "portal-pulse-phone.png")
        if key == "connection-signs":
            choose(page, "cs01", 4)
            expect_saved(page, 1, 12)
            page.screenshot(path=artifacts / "portal-form-phone.png")
            page.screenshot(path=artifacts / "portal-form-phone-full.png", full_page=True)
        assert no_horizontal_scroll(page), f"the {key} form scrolls sideways on a phone"

    page.goto(f"{base}/portal/forms/{occurrences['connection-signs'].uuid}/review/")
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    assert no_horizontal_scroll(page), "the review page scrolls sideways on a phone"

    # Support resources are free text from the practice: long links must wrap.
    answer(occurrences["safety-screen"], one, SAFE_ANSWERS)
    page.goto(f"{base}/portal/forms/{occurrences['safety-screen'].uuid}/done/")
    expect(page.get_by_role("heading", name="If you need support")).to_be_visible()
    assert no_horizontal_scroll(page), "the safety screen's done page scrolls sideways"
    page.goto(f"{base}/portal/support/")
    assert no_horizontal_scroll(page), "the support page scrolls sideways on a phone"


def test_on_a_phone_every_built_in_form_can_be_answered_and_sent(
    new_context, live_server, couple, partners
):
    """Every question of every built-in form, tapped on a phone-sized screen, then sent."""
    one = partners[0]
    occurrences = {key: open_form(couple, key, partner=one) for key in BUILT_IN}
    base = live_server.url
    page = new_context(**PHONE)
    portal_sign_in(page, base, one)
    for key, occurrence in occurrences.items():
        page.goto(f"{base}/portal/forms/{occurrence.uuid}/")
        questions = page.locator("fieldset.question")
        total = questions.count()
        answered = 0
        for index in range(total):
            question = questions.nth(index)
            radios = question.locator("input[type=radio]")
            if radios.count():
                # The middle option, by tapping its visible label.
                radio_id = radios.nth(radios.count() // 2).get_attribute("id")
                label = page.locator(f"label[for='{radio_id}']")
                label.scroll_into_view_if_needed()
                label.tap()
                expect(page.locator(f"#{radio_id}")).to_be_checked()
                answered += 1
            else:
                question.locator("textarea").fill("Typed on a phone")
                answered += 1
        expect(page.locator("#progress-text")).to_have_text(f"{answered} of {total} answered")
        assert no_horizontal_scroll(page), f"the {key} form scrolls sideways on a phone"
        page.get_by_role("button", name="Review my answers").tap()
        expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
        page.get_by_role("button", name="Send my answers").tap()
        expect(page).to_have_url(f"{base}/portal/forms/{occurrence.uuid}/done/")
    with scope(practice=couple.practice):
        sent = Response.objects.filter(partner=one, state=ResponseState.SUBMITTED)
        assert sorted(sent.values_list("instrument__key", flat=True)) == sorted(BUILT_IN)


def test_a_partner_signed_out_elsewhere_is_told_and_keeps_the_page(
    new_context, live_server, couple, partners
):
    one = partners[0]
    occurrence = open_form(couple, "connection-signs")
    base = live_server.url
    page = new_context()
    portal_sign_in(page, base, one)
    form_url = f"{base}/portal/forms/{occurrence.uuid}/"
    page.goto(form_url)
    choose(page, "cs01", 4)
    expect_saved(page, 1, 12)
    # Signed out in another tab of the same browser (a shared device, say).
    other = page.context.new_page()
    other.goto(f"{base}/portal/account/")
    other.get_by_role("button", name="Sign out on this device").click()
    expect(other.get_by_role("heading", name="You are signed out")).to_be_visible()
    choose(page, "cs02", 2)
    expect(page.locator("#save-status")).to_contain_text("You have been signed out")
    # The page stays as it was (no reload that would wipe the unsaved answer).
    assert page.url == form_url
    expect(page.locator("#a-cs02-2")).to_be_checked()
    with scope(practice=couple.practice):
        assert Response.objects.get(partner=one, occurrence=occurrence).answers == {"cs01": 4}
