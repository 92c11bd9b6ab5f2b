"""Erasing a couple and a whole practice, proven by searching every table and the storage;
and the round trip: a demo couple exported, erased, and imported again from its FHIR Bundle.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import Response, Score
from assessments.services import assignments as assignment_services
from assessments.services import fhir as fhir_services
from assessments.services import instruments as instrument_services
from assessments.services import scoring
from clients.models import Couple, Note, Partner
from demo.synthetic import COUPLES, Builder
from practice.models import AuditEvent, Membership, Practice, StaffInvitation
from reports import exports
from reports.models import Report
from tests.conftest import signed_in, signed_in_verified
from tests.factories import SAFE_ANSWERS, answer, make_couple, open_form
from tests.scan import files_holding, stored_files, tables_holding
from tests.test_fhir import SDC, SDC_SPEC, fixture
from tests.test_portal import portal_client

pytestmark = pytest.mark.django_db

NOTE = "Disclosed a quarrel about Zanzibar holidays"
SAFETY_TEXT = "Brambleworth incident last spring"


def dress(practice, couple) -> list[str]:
    """Give a couple traceable text everywhere it can live; returns what to search for."""
    with scope(practice=practice):
        one, two = list(couple.partners.order_by("position"))
        # Names no other test row shares, so a hit can only be this couple's.
        for partner, name in ((one, "Wilhelmina Quarrendon"), (two, "Bartholomew Ashcombe")):
            partner.display_name = name
            partner.email = f"{name.split()[0].lower()}@quarrendon.test"
            partner.save()
        couple.label = "Quarrendon & Ashcombe"
        couple.save()
        Note.objects.create(
            practice=practice, couple=couple, author=couple.clinicians.first(), body=NOTE
        )
        safety = open_form(couple, "safety-screen", partner=one)
        answer(safety, one, {**SAFE_ANSWERS, "ss06": SAFETY_TEXT})
        report = Report.objects.create(
            practice=practice,
            couple=couple,
            kind="clinician",
            period_start=timezone.localdate(),
            period_end=timezone.localdate(),
            status="ready",
            snapshot={"partners": [one.display_name, two.display_name]},
        )
        report.file.save(
            f"{report.uuid}.pdf", ContentFile(f"%PDF stand-in for {one.display_name}".encode())
        )
        needles = [couple.label, one.display_name, two.display_name, one.email, two.email]
    return [*needles, NOTE, SAFETY_TEXT]


def test_erasing_a_couple_leaves_no_trace_in_any_table_file_or_cache(world, cases):
    couple = cases.a.couple
    needles = dress(world.a.practice, couple)
    with scope(practice=world.a.practice):
        files = {r.file.name for r in Report.objects.filter(couple=couple)}
    owner = signed_in(world.a.owner)
    base = f"/p/{world.a.practice.slug}/couples/{couple.uuid}"
    assert owner.get(base + "/").status_code == 200  # caches charts, which show names
    charts = cache.get(f"chart:couple:{couple.pk}")
    assert charts
    with scope(practice=world.a.practice):
        portal = portal_client(couple.partners.get(position=1))
    assert portal.get("/portal/").status_code == 200
    # The positive control: the scanner does find the couple before erasure.
    assert {n for _t, _c, n in tables_holding(needles)} == {n.lower() for n in needles}
    assert files_holding([needles[1]])
    page = owner.get(base + "/erase/")
    assert page.status_code == 200 and "Erase this couple" in page.content.decode()
    wrong = owner.post(base + "/erase/", {"confirmation": "Alpha"})
    assert wrong.status_code == 200 and "exactly as shown" in wrong.content.decode()
    with scope(practice=world.a.practice):
        assert Couple.objects.filter(pk=couple.pk).exists()
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = owner.post(base + "/erase/", {"confirmation": f"  {couple.label} "})
    assert done.status_code == 302
    assert tables_holding(needles) == []
    assert files_holding(needles) == []
    assert not (files & stored_files())
    assert cache.get_many([*charts, f"chart:couple:{couple.pk}"]) == {}
    # The audit trail keeps the fact, who, and ids; its earlier rows about the couple stay.
    event = AuditEvent.objects.with_scopes_disabled().get(action="couple.erase")
    assert event.actor == world.a.owner and event.target_id == str(couple.uuid)
    assert event.details["responses"] >= 3 and event.details["files"] == 2
    assert AuditEvent.objects.with_scopes_disabled().filter(target_id=str(couple.uuid)).count() > 1
    # The partner's open portal session ends with them.
    assert portal.get("/portal/").status_code in {302, 403}
    # Nothing of the other practice, or of another couple, went.
    with scopes_disabled():
        assert Couple.objects.filter(pk=cases.b.couple.pk).exists()
        assert cases.b.report.file.name in stored_files()


def test_only_owners_erase_and_the_api_needs_the_label(world, cases):
    couple = cases.a.couple
    clinician = signed_in(world.a.clinician)
    assert (
        clinician.get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/erase/").status_code == 404
    )
    url = f"/api/v1/p/{world.a.practice.slug}/couples/{couple.uuid}/erase/"
    assert (
        clinician.post(
            url, {"confirmation": couple.label}, content_type="application/json"
        ).status_code
        == 404
    )
    owner = signed_in(world.a.owner)
    wrong = owner.post(url, {"confirmation": "nope"}, content_type="application/json")
    assert wrong.status_code == 400 and "confirmation" in wrong.json()["error"]["fields"]
    done = owner.post(url, {"confirmation": couple.label}, content_type="application/json")
    assert done.status_code == 200 and done.json()["erased"]["partners"] == 2
    with scopes_disabled():
        assert not Couple.objects.filter(pk=couple.pk).exists()


def test_erasing_a_practice_leaves_its_audit_trail_and_nothing_else(world, cases):
    practice = world.a.practice
    needles = dress(practice, cases.a.couple)
    with scope(practice=practice):
        second = make_couple(practice, world.a.clinician, label="Second Pair", n=7)
        answer(open_form(second), second.partners.get(position=1), {"pulse": 6})
    needles += ["Second Pair", "Partner One 7", practice.name]
    owner = signed_in_verified(world.a.owner)  # erasing needs a fresh second factor
    with scope(practice=practice), TestCase.captureOnCommitCallbacks(execute=True):
        exports.request_export(practice, actor=world.a.owner)
    files_before = stored_files()
    audit_before = AuditEvent.objects.with_scopes_disabled().filter(practice=practice).count()
    page = owner.get(f"/p/{practice.slug}/settings/erase/")
    assert page.status_code == 200
    assert (
        owner.post(f"/p/{practice.slug}/settings/erase/", {"confirmation": "Alpha"}).status_code
        == 200
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = owner.post(f"/p/{practice.slug}/settings/erase/", {"confirmation": practice.name})
    assert done.status_code == 302
    # The practice name survives only in nothing: the row is renamed and emptied.
    assert tables_holding(needles) == []
    assert files_holding(needles) == []
    # Every file of the practice went (its logo, report PDFs, the export zip); B's stayed.
    gone = files_before - stored_files()
    assert any(f.endswith(".zip") for f in gone) and any("logo" in f for f in gone)
    assert not [f for f in stored_files() if str(practice.uuid) in f]
    with scopes_disabled():
        erased = Practice.objects.get(pk=practice.pk)
        assert erased.erased_at and erased.name == "Erased practice" and not erased.logo
        assert not Membership.objects.filter(practice=practice).exists()
        assert not StaffInvitation.objects.filter(practice=practice).exists()
        assert not Partner.objects.filter(practice=practice).exists()
        assert Couple.objects.filter(pk=cases.b.couple.pk).exists()
        assert cases.b.report.file.name in stored_files()
        assert world.b.practice.logo.name in stored_files()
    audit = AuditEvent.objects.with_scopes_disabled().filter(practice=practice)
    assert audit.count() > audit_before
    event = audit.get(action="practice.erase")
    assert event.details["couples"] == 2 and event.details["members"] == 3
    # Nobody can reach it any more.
    assert signed_in_verified(world.a.owner).get(f"/p/{practice.slug}/").status_code == 404


def demo_couple(practice, today):
    """One demo couple with its six months of history, as `make run` builds it."""
    spec = COUPLES[0]
    with scope(practice=practice):
        builder = Builder(practice, today)
        couple = builder.couple(spec)
        for response in builder.history(couple, spec):
            result = response.instrument.plan.score(response.answers)
            scoring.write_scores(scoring.score_rows(response, result))
    return couple, spec


def snapshot(practice, couple):
    with scope(practice=practice):
        scores = {
            (
                s.partner.position,
                s.instrument_key,
                s.instrument.version,
                s.scale,
                s.submitted_at,
                s.value,
            )
            for s in Score.objects.filter(couple=couple).select_related("partner", "instrument")
        }
        answers = {
            (r.partner.position, r.instrument.key, r.submitted_at, tuple(sorted(r.answers.items())))
            for r in Response.objects.filter(couple=couple).select_related("partner", "instrument")
        }
    return scores, answers


def test_round_trip_export_erase_and_import_again(world):
    practice = world.a.practice
    couple, spec = demo_couple(practice, timezone.localdate())
    # The couple also answered a questionnaire the practice imported from FHIR.
    with scope(practice=practice):
        sdc = fhir_services.import_questionnaire(
            practice=practice, actor=world.a.owner, resource=fixture(SDC), spec=SDC_SPEC
        )
        instrument_services.publish(sdc, actor=world.a.owner)
        couple.clinicians.add(world.a.clinician)
        form = assignment_services.assign(
            couple=couple, instrument=sdc, actor=world.a.owner, first_due=timezone.localdate()
        ).occurrences.get()
        one, two = list(couple.partners.order_by("position"))
    answer(form, one, {"/90002-6": 3, "/90003-4": 2, "/90004-2": 1, "/90005-9": 0})
    answer(form, two, {"/90002-6": 1, "/90003-4": 1, "/90004-2": 2, "/90005-9": 3})
    before_scores, before_answers = snapshot(practice, couple)
    assert len(before_answers) > 40

    owner = signed_in(world.a.owner)
    api = f"/api/v1/p/{practice.slug}"
    bundle = owner.get(
        f"{api}/couples/{couple.uuid}/fhir/?include_private=true&include_names=true"
    ).json()
    erased = owner.post(
        f"{api}/couples/{couple.uuid}/erase/",
        {"confirmation": spec.label},
        content_type="application/json",
    )
    assert erased.status_code == 200
    names = [spec.one.name, spec.two.name, spec.label]
    assert tables_holding(names) == []

    made = owner.post(
        f"{api}/couples/fhir/",
        {"bundle": bundle, "clinicians": [str(world.a.clinician.uuid)]},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    with scope(practice=practice):
        again = Couple.objects.get(uuid=made.json()["uuid"])
        partners = list(again.partners.order_by("position"))
    assert again.label == spec.label and [p.display_name for p in partners] == names[:2]
    after_scores, after_answers = snapshot(practice, again)
    assert after_answers == before_answers
    assert after_scores == before_scores
    # Both partners' answers to one form share one occurrence again.
    with scope(practice=practice):
        pulse = Response.objects.filter(couple=again, instrument__key="connection-pulse")
        assert pulse.values("occurrence").distinct().count() == pulse.count() / 2
    # Imported history raises no alerts, and a second import of the same bundle is refused
    # only by what collides: the partners' email addresses.
    repeat = owner.post(f"{api}/couples/fhir/", {"bundle": bundle}, content_type="application/json")
    assert repeat.status_code == 400 and "email" in repeat.json()["error"]["fields"]

    # Another practice cannot place the FHIR-imported questionnaire's answers until it has it.
    other = signed_in(world.b.owner)
    nameless = other.post(
        f"/api/v1/p/{world.b.practice.slug}/couples/fhir/",
        {"bundle": bundle},
        content_type="application/json",
    )
    assert nameless.status_code == 400
    fields = nameless.json()["error"]["fields"]
    assert all("import and publish that Questionnaire first" in m[0] for m in fields.values())
    assert len(fields) == 2  # the two answers to the SDC questionnaire, named by id


def test_a_bundle_without_names_gets_placeholders(world, cases):
    owner = signed_in(world.a.owner)
    api = f"/api/v1/p/{world.a.practice.slug}"
    bundle = owner.get(f"{api}/couples/{cases.a.couple.uuid}/fhir/").json()
    made = owner.post(
        f"{api}/couples/fhir/", {"bundle": bundle, "label": "Copy"}, content_type="application/json"
    )
    assert made.status_code == 201
    with scope(practice=world.a.practice):
        copy = Couple.objects.get(uuid=made.json()["uuid"])
        people = list(copy.partners.order_by("position"))
        assert [p.display_name for p in people] == ["Partner 1", "Partner 2"]
        assert all(p.email.endswith("@imported.invalid") for p in people)
        assert (
            Score.objects.filter(couple=copy).count()
            == Score.objects.filter(
                couple=cases.a.couple, instrument__key="connection-pulse"
            ).count()
        )
