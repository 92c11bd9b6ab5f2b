"""The workspace walk of issue 17, in a real browser, as an owner, a clinician and partners would.

An owner builds a six-item form with two scales in the form builder, publishes it and
puts it in a protocol; a clinician applies the protocol to three couples ticked on the
caseload; both partners of one couple answer it on a phone; the clinician releases the
couple's report and reads the audit log for that couple. Every new page passes axe
(no serious or critical violation).
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, expect

from assessments.models import Assignment, Instrument, InstrumentStatus, ProtocolApplication
from clients.models import PortalState
from practice.models import AuditEvent
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    axe_violations,
    describe,
    no_horizontal_scroll,
    portal_sign_in,
    staff_sign_in,
)
from tests.factories import make_couple

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}
QUESTIONS = [
    (
        "I feel close to my partner.",
        "Me siento cerca de mi pareja.",
        "Я чувствую близость с партнёром.",
    ),
    ("We share our days.", "Compartimos nuestros días.", "Мы делимся тем, как прошёл день."),
    (
        "I feel alone in this relationship.",
        "Me siento solo en esta relación.",
        "Я чувствую себя одиноко в этих отношениях.",
    ),
    (
        "Our arguments calm down quickly.",
        "Nuestras discusiones se calman rápido.",
        "Наши ссоры быстро утихают.",
    ),
    (
        "I can say what bothers me.",
        "Puedo decir lo que me molesta.",
        "Я могу сказать, что меня беспокоит.",
    ),
    ("We repair after a fight.", "Nos reconciliamos después de pelear.", "Мы миримся после ссоры."),
]


class Axe:
    """Scans pages as the walk goes and fails at the end with every page's problems."""

    def __init__(self) -> None:
        self.failures: dict[str, list[dict]] = {}
        self.scanned: list[str] = []

    def scan(self, page: Page, name: str) -> None:
        bad = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
        self.scanned.append(name)
        if bad:
            self.failures[name] = bad

    def check(self) -> None:
        report = "\n".join(f"{name}:\n{describe(v)}" for name, v in self.failures.items())
        assert not self.failures, "axe found serious or critical problems:\n" + report


def fill_languages(scope_locator, name: str, texts: tuple[str, str, str]) -> None:
    for code, text in zip(("en", "es", "ru"), texts, strict=True):
        scope_locator.locator(f"[name$='-{name}_{code}'], [name='{name}_{code}']").first.fill(text)


def build_the_form(page: Page, base: str, slug: str, axe: Axe) -> None:
    page.goto(f"{base}/p/{slug}/instruments/")
    page.get_by_role("link", name="Build a form").click()
    expect(page.get_by_role("heading", name="Build a form", level=1)).to_be_visible()
    # The live check has already run on the starter and lists what is missing.
    expect(page.locator("#builder-summary")).to_contain_text(re.compile(r"\d+ problems? to fix"))
    axe.scan(page, "builder (starter, problems listed)")

    about = page.get_by_role("region", name="About the form")
    fill_languages(about, "title", ("Our check-in", "Nuestro chequeo", "Наша проверка"))
    fill_languages(
        about, "description", ("Six short questions.", "Seis preguntas.", "Шесть вопросов.")
    )
    about.get_by_label("Short name (used in links and exports)").fill("our-check-in")

    for n in range(1, 6):
        page.get_by_role("button", name="Add an item").click()
        # The page comes back at the new row, its first field ready for typing.
        new_item = page.get_by_role("group", name=f"Item {n + 1}", exact=True)
        expect(new_item.get_by_label("Item id")).to_be_focused()
    for n, texts in enumerate(QUESTIONS, start=1):
        item = page.get_by_role("group", name=f"Item {n}", exact=True)
        item.get_by_label("Item id").fill(f"q{n}")
        fill_languages(item, "text", texts)
    page.get_by_role("group", name="Item 3", exact=True).get_by_label("Reverse keyed").check()

    closeness = page.get_by_role("group", name="Scale 1", exact=True)
    closeness.get_by_label("Scale id").fill("closeness")
    closeness.get_by_label("Items (ids, separated by spaces or commas)").fill("q1 q2 q3")
    fill_languages(closeness, "label", ("Closeness", "Cercanía", "Близость"))
    page.get_by_role("button", name="Add a scale").click()
    calm = page.get_by_role("group", name="Scale 2", exact=True)
    calm.get_by_label("Scale id").fill("calm")
    calm.get_by_label("Items (ids, separated by spaces or commas)").fill("q4, q5, q6")
    fill_languages(calm, "label", ("Calm", "Calma", "Спокойствие"))
    calm.get_by_label("Least answered items for a score").fill("2")

    # Every problem at once, each with its place: one reference to an item that does
    # not exist and one missing translation, found together by the live check.
    calm.get_by_label("Items (ids, separated by spaces or commas)").fill("q4, q5, q9")
    page.get_by_role("group", name="Item 6", exact=True).locator("[name$='-text_ru']").fill("")
    problems = page.locator("#builder-problems")
    expect(problems).to_contain_text("unknown item 'q9'")
    expect(problems).to_contain_text("missing translation")
    expect(problems.get_by_role("link", name="missing translation")).to_have_attribute(
        "href", "#id_items-5-text_ru"
    )
    axe.scan(page, "builder (problems)")
    problems.get_by_role("link", name="missing translation").click()
    expect(page.locator("#id_items-5-text_ru")).to_be_focused()
    page.locator("#id_items-5-text_ru").fill(QUESTIONS[5][2])
    calm.get_by_label("Items (ids, separated by spaces or commas)").fill("q4, q5, q6")
    expect(page.locator("#builder-summary")).to_have_text(
        "No problems: the form can be saved as a draft."
    )
    # The phone-sized preview shows the form as a partner will see it, in any language.
    preview = page.locator("#builder-preview")
    expect(preview).to_contain_text(QUESTIONS[5][0])
    page.get_by_label("Preview language").select_option("es")
    expect(preview).to_contain_text(QUESTIONS[5][1])
    assert preview.bounding_box()["width"] <= 375
    axe.scan(page, "builder (no problems, preview)")

    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("Saved as a draft.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Our check-in"), level=1)).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published. Clinicians can assign it now.")).to_be_visible()


def define_protocol(page: Page, base: str, slug: str, axe: Axe) -> None:
    page.goto(f"{base}/p/{slug}/instruments/")
    page.get_by_role("link", name="Protocols").click()
    axe.scan(page, "protocols (empty)")
    page.get_by_role("link", name="New protocol").click()
    page.get_by_label("Name").fill("Our course")
    first = page.get_by_role("group", name="Form 1")
    first.get_by_label("Form").select_option(label="Our check-in")
    page.get_by_role("button", name="Add a form").click()
    second = page.get_by_role("group", name="Form 2")
    second.get_by_label("Form").select_option(label="Connection Pulse")
    second.get_by_label("Starts after").fill("1")
    second.get_by_label("Repeats every (empty: once)").fill("1")
    second.get_by_label("Times in all").fill("8")
    axe.scan(page, "protocol form")
    page.get_by_role("button", name="Save protocol").click()
    expect(page.get_by_text("Protocol saved.")).to_be_visible()
    expect(page.get_by_text("Connection Pulse, after 1 week, every week, 8 times")).to_be_visible()
    axe.scan(page, "protocols")


def test_build_publish_apply_answer_release_and_audit(new_context, live_server, world):
    base = live_server.url
    practice = world.a.practice
    slug = practice.slug
    couples = [
        make_couple(practice, world.a.clinician, label=label, n=n)
        for n, label in enumerate(["Avery & Blake", "Casey & Drew", "Emery & Finn", "Gray & Hale"])
    ]
    with scope(practice=practice):
        for couple in couples:
            couple.partners.update(portal_state=PortalState.ACTIVE)
    axe = Axe()

    owner = new_context(**DESKTOP)
    staff_sign_in(owner, base, world.a.owner)
    build_the_form(owner, base, slug, axe)
    define_protocol(owner, base, slug, axe)
    with scope(practice=practice):
        built = Instrument.objects.get(key="our-check-in")
        assert built.status == InstrumentStatus.PUBLISHED
        assert [s["key"] for s in built.definition["scales"]] == ["closeness", "calm"]
        assert len(built.definition["items"]) == 6
        assert built.definition["items"][2]["reverse"] is True

    # The clinician ticks three couples on the caseload and applies the protocol once.
    clinician = new_context(**DESKTOP)
    staff_sign_in(clinician, base, world.a.clinician)
    for couple in couples[:3]:
        clinician.get_by_label(f"Select {couple.label}").check()
    bulk = clinician.get_by_role("form", name="Apply a protocol to the selected couples")
    bulk.get_by_label("Protocol").select_option(label="Our course")
    axe.scan(clinician, "caseload (couples ticked)")
    bulk.get_by_role("button", name="Apply to selected").click()
    expect(clinician.get_by_text(re.compile("Our course applied to 3 couples"))).to_be_visible()
    with scope(practice=practice):
        assert ProtocolApplication.objects.count() == 3
        assert not Assignment.objects.filter(couple=couples[3]).exists()
        for couple in couples[:3]:
            assert Assignment.objects.filter(couple=couple).count() == 2

    # The couple's page shows the schedule as a timeline.
    first = couples[0]
    clinician.goto(f"{base}/p/{slug}/couples/{first.uuid}/")
    sections = clinician.get_by_role("navigation", name=f"Sections about {first.label}")
    sections.get_by_role("link", name="Forms").click()
    timeline = clinician.locator("ol.timeline")
    expect(timeline.locator("li.timeline-day").first).to_contain_text("Our check-in")
    expect(timeline).to_contain_text("Connection Pulse")
    axe.scan(clinician, "couple page (timeline)")
    clinician.get_by_role("link", name="Apply a protocol").click()
    axe.scan(clinician, "apply a protocol (one couple)")

    # Both partners answer the built form on a phone.
    with scope(practice=practice):
        partners = list(first.partners.order_by("position"))
    for position, partner in enumerate(partners):
        phone = new_context(**PHONE)
        portal_sign_in(phone, base, partner)
        phone.get_by_role("link", name="Our check-in", exact=True).tap()
        expect(phone.get_by_role("heading", name="Our check-in", level=1)).to_be_visible()
        questions = phone.locator("fieldset.question")
        expect(questions).to_have_count(6)
        for index in range(6):
            option = 4 if position == 0 else 2 + index % 3
            label = phone.locator(f"label[for='a-q{index + 1}-{option}']")
            label.scroll_into_view_if_needed()
            label.tap()
            expect(phone.locator(f"#a-q{index + 1}-{option}")).to_be_checked()
        expect(phone.locator("#progress-text")).to_have_text("6 of 6 answered")
        assert no_horizontal_scroll(phone), "the built form scrolls sideways on a phone"
        axe.scan(phone, f"built form on a phone (partner {position + 1})")
        phone.get_by_role("button", name="Review my answers").tap()
        phone.get_by_role("button", name="Send my answers").tap()
        expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
        phone.context.close()

    # The clinician makes the couple report, previews it, and releases it after the
    # confirmation that names who will read it.
    clinician.goto(f"{base}/p/{slug}/couples/{first.uuid}/?tab=reports")
    reports = clinician.get_by_role("form", name="Generate a report")
    reports.get_by_label("Version").select_option("couple")
    reports.get_by_role("button", name="Generate report").click()
    preview = clinician.get_by_role("link", name="Preview", exact=True)
    expect(preview).to_be_visible(timeout=60_000)
    preview.click()
    expect(clinician.get_by_role("img", name=re.compile(r"^Page 1 of \d+$"))).to_be_visible()
    axe.scan(clinician, "report preview")
    clinician.go_back()
    clinician.get_by_role("link", name="Release to the couple's portal…").click()
    expect(clinician.get_by_role("heading", name="Release the report?")).to_be_visible()
    for partner in partners:
        expect(clinician.get_by_text(partner.display_name, exact=True)).to_be_visible()
    axe.scan(clinician, "release confirmation")
    clinician.get_by_role("button", name="Release to the couple's portal").click()
    expect(clinician.get_by_text("Released: the partners can download it")).to_be_visible()

    # The owner reads the audit log for that couple: the protocol applied and the release.
    owner.goto(f"{base}/p/{slug}/audit/")
    filters = owner.get_by_role("form", name="Filter the audit log")
    filters.get_by_label("Couple").select_option(label=first.label)
    filters.get_by_role("button", name="Filter").click()
    log = owner.get_by_role("table")
    expect(log).to_contain_text("Applied a protocol to a couple")
    expect(log).to_contain_text("Released a report")
    expect(log).not_to_contain_text(couples[1].label)
    axe.scan(owner, "audit log filtered to the couple")
    with scopes_disabled():
        applied = AuditEvent.objects.filter(action="protocol.apply", target_id=str(first.uuid))
        assert applied.count() == 1
    axe.check()
    assert timezone.localdate()  # the walk ran on today's schedule
