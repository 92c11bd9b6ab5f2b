"""FHIR questionnaires through the whole product: imported by an owner, scales chosen,
published, assigned, answered in the portal (in English and in Spanish, with conditions),
scored, and exported back as valid QuestionnaireResponses; the commands and the API too.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import TestCase
from django_scopes import scope
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from assessments.fhir import FhirError
from assessments.models import Instrument, InstrumentStatus, Response, Score
from assessments.services import assignments as assignment_services
from assessments.services import fhir as fhir_services
from assessments.services import instruments as instrument_services
from practice.models import AuditEvent
from tests.conftest import signed_in
from tests.factories import instrument, make_couple
from tests.test_fhir import ARGONAUT, ARGONAUT_SPEC, SDC, SDC_SPEC, fixture
from tests.test_portal import portal_client

DATA = Path(__file__).resolve().parent / "data"


def _import(world, name, spec=None):
    with scope(practice=world.a.practice):
        return fhir_services.import_questionnaire(
            practice=world.a.practice, actor=world.a.owner, resource=fixture(name), spec=spec
        )


def _answer_in_portal(client, occurrence, fields):
    """Answer through the portal's own form (no JavaScript), review and submit."""
    page = client.get(f"/portal/forms/{occurrence.uuid}/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    posted = {
        "csrfmiddlewaretoken": csrf,
        "review": "1",
        **{f"a-{k}": v for k, v in fields.items()},
    }
    saved = client.post(f"/portal/forms/{occurrence.uuid}/", posted)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    with TestCase.captureOnCommitCallbacks(execute=True):
        sent = client.post(
            f"/portal/forms/{occurrence.uuid}/review/", {"csrfmiddlewaretoken": csrf}
        )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    return page


@pytest.mark.django_db
def test_an_imported_questionnaire_waits_for_its_scales_before_publishing(world):
    instrument = _import(world, SDC)
    assert instrument.status == InstrumentStatus.DRAFT and instrument.scales_pending
    assert instrument.key == "connection-fortnight" and instrument.version == 1
    assert instrument.import_notes[0].startswith("Left out /90006-7")
    # The provisional total is there so the preview works, but publishing waits.
    assert instrument.definition["scales"][0]["items"] == [
        "/90002-6",
        "/90003-4",
        "/90004-2",
        "/90005-9",
    ]
    with scope(practice=world.a.practice), pytest.raises(ValidationError):
        instrument_services.publish(instrument, actor=world.a.owner)
    with scope(practice=world.a.practice):
        fhir_services.set_scales(instrument, SDC_SPEC, actor=world.a.owner)
        instrument_services.publish(instrument, actor=world.a.owner)
        instrument.refresh_from_db()
    assert instrument.status == InstrumentStatus.PUBLISHED and not instrument.scales_pending
    # The same questionnaire and version again is refused; its next version is our next one.
    with scope(practice=world.a.practice), pytest.raises(FhirError, match="already here"):
        _import(world, SDC, SDC_SPEC)
    with scope(practice=world.a.practice):
        again = fhir_services.import_questionnaire(
            practice=world.a.practice,
            actor=world.a.owner,
            resource={**fixture(SDC), "version": "1.3.0"},
            spec=SDC_SPEC,
        )
    assert (again.key, again.version, again.scales_pending) == ("connection-fortnight", 2, False)
    actions = set(AuditEvent.objects.with_scopes_disabled().values_list("action", flat=True))
    assert {"instrument.fhir_import", "instrument.scales", "instrument.publish"} <= actions


@pytest.mark.django_db
def test_nothing_is_half_imported(world):
    broken = fixture(ARGONAUT)
    broken["item"][1]["item"][0]["type"] = "attachment"
    broken["item"][0]["item"][2]["extension"] = []  # no min/max
    with scope(practice=world.a.practice), pytest.raises(FhirError) as raised:
        fhir_services.import_questionnaire(
            practice=world.a.practice, actor=world.a.owner, resource=broken
        )
    refused = {r.link_id: r.reason for r in raised.value.refusals}
    assert set(refused) == {"closeness.3", "conflict.1", "conflict.2", "conflict.3"}
    assert "'attachment'" in refused["conflict.1"]
    # Questions that depend on a refused one say so, rather than failing later.
    assert refused["conflict.2"].endswith("that question cannot be imported either")
    with scope(practice=world.a.practice):
        assert not Instrument.objects.filter(practice=world.a.practice).exists()


def _publish(world, name, spec):
    instrument = _import(world, name, spec)
    with scope(practice=world.a.practice):
        return instrument_services.publish(instrument, actor=world.a.owner)


@pytest.mark.django_db
def test_both_fixtures_are_assigned_answered_in_the_portal_scored_and_exported_valid(world):
    sdc = _publish(world, SDC, SDC_SPEC)
    argonaut = _publish(world, ARGONAUT, ARGONAUT_SPEC)
    couple = make_couple(world.a.practice, world.a.clinician, label="Fhir & Flow")
    with scope(practice=world.a.practice):
        one, two = list(couple.partners.order_by("position"))
        two.language = "es"
        two.save()
        occurrences = {}
        for instrument in (sdc, argonaut):
            assignment = assignment_services.assign(
                couple=couple,
                instrument=instrument,
                actor=world.a.clinician,
                first_due=couple.start_date,
            )
            occurrences[instrument.key] = assignment.occurrences.get()
    first, second = portal_client(one), portal_client(two)
    page = _answer_in_portal(
        first,
        occurrences["connection-fortnight"],
        {"/90002-6": 3, "/90003-4": 2, "/90004-2": 3, "/90005-9": 1, "/note": "Calm weeks"},
    )
    assert "Think about the last two weeks" in page  # a display item became instructions
    _answer_in_portal(
        second,
        occurrences["connection-fortnight"],
        {"/90002-6": 0, "/90003-4": 1, "/90004-2": 0, "/90005-9": 2},
    )
    # Partner one had a disagreement: the conditional questions show and are answered.
    _answer_in_portal(
        first,
        occurrences["weekly-check-in"],
        {
            "closeness.1": 4,
            "closeness.2": 2,
            "closeness.3": "3",
            "conflict.1": 1,
            "conflict.2": 1,
            "conflict.3": 4,
        },
    )
    # Partner two (Spanish) had none: conflict.2 and conflict.3 stay hidden and optional.
    page = _answer_in_portal(
        second,
        occurrences["weekly-check-in"],
        {"closeness.1": 5, "closeness.2": 1, "closeness.3": "2,0", "conflict.1": 0},
    )
    assert "Esta semana me sentí cerca de mi pareja." in page and "Cercanía" in page
    assert 'data-enable-when="' in page and 'id="q-conflict.2"' in page
    with scope(practice=world.a.practice):
        totals = dict(
            Score.objects.filter(couple=couple, is_total=True).values_list(
                "partner__position", "instrument_key"
            )
        )
        scores = {
            (s.partner.position, s.instrument_key, s.scale): s.value
            for s in Score.objects.filter(couple=couple).select_related("partner")
        }
        spanish = Response.objects.get(partner=two, instrument=argonaut)
    assert totals  # both instruments scored for both partners
    assert scores[(1, "connection-fortnight", "total")] == 9
    assert scores[(2, "connection-fortnight", "total")] == 3
    assert scores[(1, "weekly-check-in", "closeness")] == 4  # (4 + reversed 2 -> 4) / 2
    assert scores[(2, "weekly-check-in", "time")] == 2
    assert spanish.language == "es" and "conflict.2" not in spanish.answers

    with scope(practice=world.a.practice):
        export = fhir_services.export_couple(couple, actor=world.a.clinician)
    bundle = export.bundle
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    questionnaires = {
        f"{r['url']}|{r['version']}": r for r in resources if r["resourceType"] == "Questionnaire"
    }
    answers = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    assert len(answers) == 4 and export.responses == 4
    assert "http://example.org/fhir/Questionnaire/connection-fortnight|1.2.0" in questionnaires
    for resource in answers:
        QuestionnaireResponse.model_validate(resource)
        questionnaire = questionnaires[resource["questionnaire"]]
        Questionnaire.model_validate(questionnaire)
        asked = _link_ids(questionnaire["item"])
        assert _link_ids(resource["item"]) <= asked
        assert resource["subject"]["reference"].startswith("Patient/")
    assert "Partner One" not in json.dumps(bundle)  # no names unless asked for
    loinc = [
        a["answer"][0]["valueCoding"]
        for r in answers
        if r["questionnaire"].startswith("http://example.org/fhir/Questionnaire/connection")
        for a in r["item"]
        if a["linkId"] == "/90002-6"
    ]
    assert {
        "system": "http://loinc.org",
        "code": "LA6571-9",
        "display": "Nearly every day",
    } in loinc


def _link_ids(nodes):
    found = set()
    for node in nodes:
        found.add(node["linkId"])
        found |= _link_ids(node.get("item", []))
    return found


@pytest.mark.django_db
def test_private_answers_and_names_leave_only_when_asked(world, cases):
    couple = cases.a.couple
    with scope(practice=world.a.practice):
        plain = fhir_services.export_couple(couple, actor=world.a.owner).bundle
        full = fhir_services.export_couple(
            couple, actor=world.a.owner, include_private=True, include_names=True
        ).bundle
    plain_text, full_text = json.dumps(plain), json.dumps(full)
    assert "safety-screen" not in plain_text and "private-left-out" in plain_text
    assert "safety-screen" in full_text and "private-included" in full_text
    assert cases.a.partner_one.display_name not in plain_text
    assert cases.a.partner_one.display_name in full_text
    events = AuditEvent.objects.with_scopes_disabled().filter(action="couple.fhir_export")
    assert [e.details["include_private"] for e in events.order_by("pk")] == [False, True]
    assert events.order_by("pk").first().details["private_left_out"] == 1


@pytest.mark.django_db
def test_the_commands_import_with_scales_and_export_instruments_and_couples(world, cases, tmp_path):
    scales_file = tmp_path / "scales.json"
    scales_file.write_text(json.dumps(ARGONAUT_SPEC))
    out = io.StringIO()
    call_command(
        "fhir_import",
        str(DATA / ARGONAUT),
        practice=world.a.practice.slug,
        scales=str(scales_file),
        publish=True,
        stdout=out,
    )
    assert "weekly-check-in v1 published" in out.getvalue()
    out = io.StringIO()
    call_command(
        "fhir_export", instrument="weekly-check-in", practice=world.a.practice.slug, stdout=out
    )
    Questionnaire.model_validate(json.loads(out.getvalue()))
    couple_file = tmp_path / "couple.json"
    call_command(
        "fhir_export",
        couple=str(cases.a.couple.uuid),
        practice=world.a.practice.slug,
        output=str(couple_file),
    )
    Bundle.model_validate(json.loads(couple_file.read_text()))
    out = io.StringIO()
    call_command(
        "fhir_import", str(couple_file), practice=world.a.practice.slug, label="Copy", stdout=out
    )
    assert re.match(r"couple [0-9a-f-]{36} imported", out.getvalue())
    event = AuditEvent.objects.with_scopes_disabled().filter(action="couple.fhir_export").get()
    assert event.actor is None and event.actor_label == "command:fhir_export"
    # Another practice's couple is as unknown as a made-up one.
    with pytest.raises(CommandError, match="No couple"):
        call_command("fhir_export", couple=str(cases.b.couple.uuid), practice=world.a.practice.slug)
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({**fixture(SDC), "item": [{"linkId": "x", "type": "date", "text": "When?"}]})
    )
    with pytest.raises(CommandError) as raised:
        call_command("fhir_import", str(broken), practice=world.a.practice.slug)
    assert "x: the item type 'date' cannot be shown or scored here" in str(raised.value)


@pytest.mark.django_db
def test_the_api_imports_completes_publishes_and_exports(world, cases):
    owner = signed_in(world.a.owner)
    base = f"/api/v1/p/{world.a.practice.slug}"
    made = owner.post(
        f"{base}/instruments/fhir/",
        {"questionnaire": fixture(SDC)},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["scales_pending"] is True and body["import_notes"]
    uuid = body["uuid"]
    refused = owner.post(f"{base}/instruments/{uuid}/publish/")
    assert refused.status_code == 409
    bad = owner.post(
        f"{base}/instruments/{uuid}/scales/",
        {"scales": [{"key": "total", "label": "T", "items": ["nope"], "method": "sum"}]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "scales.scales[0].items[0]" in bad.json()["error"]["fields"]
    done = owner.post(
        f"{base}/instruments/{uuid}/scales/", SDC_SPEC, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["scales_pending"] is False
    assert owner.post(f"{base}/instruments/{uuid}/publish/").status_code == 200
    exported = owner.get(f"{base}/instruments/{uuid}/fhir/")
    Questionnaire.model_validate(exported.json())
    everything = owner.get(f"{base}/instruments/fhir/")
    Bundle.model_validate(everything.json())
    couple = owner.get(f"{base}/couples/{cases.a.couple.uuid}/fhir/?include_private=true")
    Bundle.model_validate(couple.json())
    assert "private-included" in couple.content.decode()
    refusal = owner.post(
        f"{base}/instruments/fhir/",
        {
            "questionnaire": {
                **fixture(SDC),
                "url": "http://example.org/q/dated",
                "item": [{"linkId": "d", "type": "date", "text": "x"}],
            }
        },
        content_type="application/json",
    )
    assert refusal.status_code == 400
    assert refusal.json()["error"]["fields"] == {
        "questionnaire.d": ["the item type 'date' cannot be shown or scored here"]
    }
    # Clinicians may export what they can see, but import nothing.
    clinician = signed_in(world.a.clinician)
    assert (
        clinician.post(
            f"{base}/instruments/fhir/",
            {"questionnaire": fixture(SDC)},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert clinician.get(f"{base}/couples/{cases.a.couple.uuid}/fhir/").status_code == 200


@pytest.mark.django_db
def test_the_owner_imports_chooses_scales_with_a_preview_and_publishes_in_the_pages(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    owner = signed_in(world.a.owner)
    base = f"/p/{world.a.practice.slug}/instruments"
    assert "Import from FHIR" in owner.get(f"{base}/").content.decode()
    upload = SimpleUploadedFile(
        "q.json", json.dumps(fixture(ARGONAUT)).encode(), content_type="application/json"
    )
    made = owner.post(f"{base}/import/", {"file": upload})
    assert made.status_code == 302 and made["Location"].endswith("/scales/")
    page = owner.get(made["Location"]).content.decode()
    assert "Scales of Weekly check-in" in page and "closeness.2: This week I felt alone" in page
    form = {
        "rows": "2",
        "direction": "higher_is_better",
        "reverse": ["closeness.2"],
        "s0-label": "Closeness",
        "s0-method": "mean",
        "s0-total": "on",
        "s0-items": ["closeness.1", "closeness.2"],
        "s0-bands": "1 3 Distant\n3 5 Close",
        "s1-label": "",
        "s1-method": "sum",
    }
    preview = owner.post(made["Location"], {**form, "preview": "1"}).content.decode()
    assert "Scores run from 1 to 5." in preview and "(reversed)" in preview
    assert "Distant" in preview
    bad = owner.post(made["Location"], {**form, "s0-bands": "one two", "save": "1"})
    assert bad.status_code == 200 and "Line 1 is not" in bad.content.decode()
    mixed = owner.post(
        made["Location"], {**form, "s0-items": ["closeness.1", "closeness.3"], "save": "1"}
    )
    assert "all items of a scale must share one answer range" in mixed.content.decode()
    saved = owner.post(made["Location"], {**form, "save": "1"})
    assert saved.status_code == 302
    with scope(practice=world.a.practice):
        instrument = Instrument.objects.get(practice=world.a.practice, key="weekly-check-in")
    assert not instrument.scales_pending
    assert instrument.definition["scales"][0]["bands"][1] == {
        "key": "close",
        "min": 3.0,
        "max": 5.0,
        "label": {"en": "Close", "es": "Close"},
    }
    detail = owner.get(saved["Location"]).content.decode()
    assert "Download as FHIR" in detail and "Publish" in detail
    published = owner.post(f"{base}/{instrument.uuid}/publish/")
    assert published.status_code == 302
    exported = owner.get(f"{base}/{instrument.uuid}/fhir/")
    Questionnaire.model_validate(json.loads(exported.content))
    refused = SimpleUploadedFile(
        "q.json",
        json.dumps(
            {**fixture(SDC), "item": [{"linkId": "d", "type": "date", "text": "x"}]}
        ).encode(),
    )
    page = owner.post(f"{base}/import/", {"file": refused}).content.decode()
    assert "Nothing was imported: 1 problem." in page and "<code>d</code>" in page


@pytest.mark.django_db
def test_our_own_instrument_bundle_imports_only_what_is_new(world, tmp_path):
    bundle = tmp_path / "instruments.json"
    out = io.StringIO()
    call_command("fhir_export", all_instruments=True, practice=world.a.practice.slug, stdout=out)
    exported = json.loads(out.getvalue())
    # Add one questionnaire this practice does not have.
    exported["entry"].append({"resource": {**fixture(SDC), "url": "http://example.org/q/new"}})
    bundle.write_text(json.dumps(exported))
    out = io.StringIO()
    call_command("fhir_import", str(bundle), practice=world.a.practice.slug, stdout=out)
    text = out.getvalue()
    with scope(practice=world.a.practice):
        shipped = instrument("connection-pulse").version
    assert f"connection-pulse v{shipped} is already here; skipped" in text
    assert "connection-fortnight v1 draft, scales to choose" in text
    with scope(practice=world.a.practice):
        assert list(
            Instrument.objects.filter(practice=world.a.practice).values_list("key", flat=True)
        ) == ["connection-fortnight"]
    # A single built-in export is refused plainly.
    with scope(practice=world.a.practice), pytest.raises(FhirError, match="already here"):
        fhir_services.import_questionnaire(
            practice=world.a.practice,
            actor=world.a.owner,
            resource=exported["entry"][0]["resource"],
        )


@pytest.mark.django_db
def test_a_couple_export_reads_a_fixed_number_of_rows_whatever_its_history(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import answer, open_form

    couple = make_couple(world.a.practice, world.a.clinician, label="Many & Forms")

    def queries() -> int:
        with (
            scope(practice=world.a.practice),
            CaptureQueriesContext(connection) as captured,
        ):
            fhir_services.couple_bundle(couple, include_private=True)
        return len(captured)

    with scope(practice=world.a.practice):
        one, two = list(couple.partners.order_by("position"))
    answer(open_form(couple), one, {"pulse": 5})
    few = queries()
    for value in (6, 7, 8, 9):
        form = open_form(couple, "connection-signs" if value % 2 else "connection-pulse")
        answers = (
            {"pulse": value}
            if form.instrument.key == "connection-pulse"
            else {i["link_id"]: 3 for i in form.instrument.definition["items"]}
        )
        answer(form, one, answers)
        answer(form, two, answers)
    assert queries() == few == 3  # partners, responses, instruments
