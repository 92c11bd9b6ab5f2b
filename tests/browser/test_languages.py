"""A Russian-speaking and a Spanish-speaking partner of one couple, each in their own language:
they answer the same form and download the couple report in the language they read."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.test import TestCase
from django.utils import translation
from django.utils.translation import gettext
from django_scopes import scope
from playwright.sync_api import Page, expect

from assessments.models import Response, ResponseState
from reports import services as report_services
from reports.models import ReportKind
from tests.browser.conftest import invitation_path
from tests.factories import answer, make_couple, open_form
from tests.test_reports import END, START

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNS = [f"cs{i:02d}" for i in range(1, 13)]
TITLES = {"ru": "Признаки эмоциональной связи", "es": "Inventario de señales de conexión"}


def words(language: str, text: str) -> str:
    """The interface's own wording of ``text`` in ``language``."""
    with translation.override(language):
        return gettext(text)


def sign_in(page: Page, base: str, partner, language: str) -> None:
    page.goto(base + invitation_path(partner))
    page.get_by_role("button", name=words(language, "Continue")).click()
    page.wait_for_url(f"{base}/portal/")


def answer_the_form(page: Page, language: str, value: int, question: str) -> None:
    page.get_by_role("link", name=TITLES[language], exact=True).click()
    expect(page.get_by_role("heading", name=TITLES[language], level=1)).to_be_visible()
    expect(page.get_by_text(question)).to_be_visible()
    for link_id in SIGNS:
        page.locator(f"label[for='a-{link_id}-{value}']").click()
    expect(page.locator("#progress-text")).to_have_text(
        words(language, "%(a)s of %(t)s answered") % {"a": 12, "t": 12}
    )
    page.get_by_role("button", name=words(language, "Review my answers")).click()
    page.get_by_role("button", name=words(language, "Send my answers")).click()
    expect(page.get_by_role("heading", name=words(language, "Thank you"))).to_be_visible()


def pdf_text(data: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode()


def test_each_partner_answers_and_reads_the_report_in_their_own_language(
    new_context, live_server, world
):
    couple = make_couple(world.a.practice, world.a.clinician, label="Orlova & Vidal")
    with scope(practice=couple.practice):
        russian, spanish = couple.partners.order_by("position")
        russian.language, spanish.language = "ru", "es"
        russian.save()
        spanish.save()
    # A first form answered earlier, so the report has a start to compare with.
    first = open_form(couple, "connection-signs")
    answer(first, russian, dict.fromkeys(SIGNS, 2))
    answer(first, spanish, dict.fromkeys(SIGNS, 3))
    form = open_form(couple, "connection-signs")
    # The last question as each language words it (written for it, not word by word).
    question = form.instrument.definition["items"][-1]["text"]
    base = live_server.url

    pages = {"ru": new_context(locale="ru-RU"), "es": new_context(locale="es-ES")}
    sign_in(pages["ru"], base, russian, "ru")
    sign_in(pages["es"], base, spanish, "es")
    expect(pages["ru"].locator("html")).to_have_attribute("lang", "ru")
    expect(pages["es"].locator("html")).to_have_attribute("lang", "es")
    # The portal's own words and the form's questions, each in the partner's language.
    for language, page in pages.items():
        expect(page.get_by_role("region", name=words(language, "To do"))).to_be_visible()
    answer_the_form(pages["ru"], "ru", 4, question["ru"])
    answer_the_form(pages["es"], "es", 4, question["es"])
    with scope(practice=couple.practice):
        saved = {r.partner_id: r for r in Response.objects.filter(occurrence=form)}
    assert {r.state for r in saved.values()} == {ResponseState.SUBMITTED}
    assert (saved[russian.pk].language, saved[spanish.pk].language) == ("ru", "es")

    # The clinician asks for the couple report (in English) and releases it.
    with scope(practice=couple.practice), TestCase.captureOnCommitCallbacks(execute=True):
        report = report_services.request_report(
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
            actor=world.a.clinician,
            language="en",
        )
    with scope(practice=couple.practice):
        report.refresh_from_db()
        assert [r.language for r in report_services.family(report)] == ["en", "es", "ru"]
        report_services.release(report, actor=world.a.clinician)

    texts = {}
    for language, page in pages.items():
        page.goto(f"{base}/portal/")
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile(words(language, "Download the PDF"))).click()
        texts[language] = pdf_text(download.value.path().read_bytes())
    assert TITLES["ru"] in texts["ru"] and TITLES["es"] not in texts["ru"]
    assert TITLES["es"] in texts["es"] and TITLES["ru"] not in texts["es"]
    assert words("ru", "Our progress together") in texts["ru"]
    assert words("es", "Our progress together") in texts["es"]
    # Dates as each language writes them: "11 de diciembre de 2026", "11 декабря 2026 г.".
    assert re.search(r"\d{1,2} de [a-záéíóú]+ de \d{4}", texts["es"])
    assert re.search(r"\d{1,2} [а-я]+ \d{4} г\.", texts["ru"])
