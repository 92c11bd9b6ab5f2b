"""In a real browser: an imported FHIR questionnaire's conditions and number question in the
portal, and the exports page following a running export without reloading."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django_scopes import scope
from playwright.sync_api import expect

from assessments.models import Response
from assessments.services import assignments as assignment_services
from assessments.services import fhir as fhir_services
from assessments.services import instruments as instrument_services
from reports.models import ExportStatus, PracticeExport
from tests.browser.conftest import axe_violations, describe, portal_sign_in, staff_sign_in
from tests.factories import make_couple
from tests.test_fhir import ARGONAUT, ARGONAUT_SPEC, fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_conditions_show_and_hide_questions_and_numbers_autosave(new_context, live_server, world):
    practice = world.a.practice
    couple = make_couple(practice, world.a.clinician, label="Conde & Vidal")
    with scope(practice=practice):
        instrument = fhir_services.import_questionnaire(
            practice=practice, actor=world.a.owner, resource=fixture(ARGONAUT), spec=ARGONAUT_SPEC
        )
        instrument_services.publish(instrument, actor=world.a.owner)
        partner = couple.partners.get(position=2)
        partner.language = "es"
        partner.save()
        occurrence = assignment_services.assign(
            couple=couple, instrument=instrument, actor=world.a.owner, first_due=couple.start_date
        ).occurrences.get()
    page = new_context()
    portal_sign_in(page, live_server.url, partner)
    page.goto(f"{live_server.url}/portal/forms/{occurrence.uuid}/")
    expect(page.get_by_role("heading", name="Cercanía")).to_be_visible()
    blocking = [v for v in axe_violations(page) if v["impact"] in {"serious", "critical"}]
    assert not blocking, describe(blocking)
    repair, heard = page.locator("[id='q-conflict.2']"), page.locator("[id='q-conflict.3']")
    expect(repair).to_be_hidden()
    expect(heard).to_be_hidden()
    page.locator("label[for='a-conflict.1-1']").click()  # Sí
    expect(repair).to_be_visible()
    expect(heard).to_be_hidden()
    page.locator("label[for='a-conflict.2-2']").click()  # partly made up (score 1)
    expect(heard).to_be_visible()
    page.locator("label[for='a-conflict.1-2']").click()  # No: both hide again
    expect(repair).to_be_hidden()
    expect(heard).to_be_hidden()
    evenings = page.locator("[id='a-closeness.3']")
    evenings.fill("3")
    evenings.blur()
    expect(page.locator("#save-status")).to_have_text("Guardado")
    evenings.fill("9")
    evenings.blur()
    expect(page.locator("[id='err-closeness.3']")).to_be_visible()
    evenings.fill("4")
    evenings.blur()
    expect(page.locator("[id='err-closeness.3']")).to_be_hidden()
    page.locator("label[for='a-closeness.1-5']").click()
    page.locator("label[for='a-closeness.2-1']").click()
    expect(page.locator("#save-status")).to_have_text("Guardado")
    page.get_by_role("button", name="Revisar mis respuestas").click()
    page.get_by_role("button", name="Enviar mis respuestas").click()
    expect(page).to_have_url(f"{live_server.url}/portal/forms/{occurrence.uuid}/done/")
    with scope(practice=practice):
        response = Response.objects.get(occurrence=occurrence, partner=partner)
    # The number is stored as a number; the hidden question's earlier answer is not kept.
    assert response.answers == {
        "closeness.1": 5,
        "closeness.2": 1,
        "closeness.3": 4,
        "conflict.1": 0,
    }


def test_the_exports_page_follows_progress_without_reloading(new_context, live_server, world):
    practice = world.a.practice
    with scope(practice=practice):
        export = PracticeExport.objects.create(
            practice=practice, status=ExportStatus.RUNNING, progress=30, created_by=world.a.owner
        )
    page = new_context()
    staff_sign_in(page, live_server.url, world.a.owner)
    page.goto(f"{live_server.url}/p/{practice.slug}/exports/")
    row = page.locator(f"tr[data-export-status*='{export.uuid}']")
    expect(row.locator("[data-part=percent]")).to_have_text("30%")
    page.evaluate("window.__stayed = true")  # gone if the page reloads
    with scope(practice=practice):
        export.file.save(f"exports/{export.uuid}.zip", ContentFile(b"PK\x05\x06" + bytes(18)))
        PracticeExport.objects.filter(pk=export.pk).update(status=ExportStatus.DONE, progress=100)
    expect(row.get_by_role("link", name="Download (once)")).to_be_visible(timeout=15000)
    expect(row.locator("[data-part=percent]")).to_have_text("100%")
    assert page.evaluate("window.__stayed === true")
    # The owner's new pages pass axe too: exports, FHIR import and the scales step.
    with scope(practice=practice):
        draft = fhir_services.import_questionnaire(
            practice=practice, actor=world.a.owner, resource=fixture(ARGONAUT)
        )
    for path in ("exports/", "instruments/import/", f"instruments/{draft.uuid}/scales/"):
        page.goto(f"{live_server.url}/p/{practice.slug}/{path}")
        blocking = [v for v in axe_violations(page) if v["impact"] in {"serious", "critical"}]
        assert not blocking, f"{path}: {describe(blocking)}"
