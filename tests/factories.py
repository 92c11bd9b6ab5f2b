"""Factories shared by every test module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import factory
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope
from factory.django import DjangoModelFactory

from assessments.models import Alert, Instrument, Occurrence, Response
from assessments.services import assignments as assignment_services
from assessments.services import instruments as instrument_services
from assessments.services import responses as response_services
from clients import services as client_services
from clients.models import Couple, Partner
from practice import members, tokens
from practice.models import ApiToken, Membership, Practice, Role, StaffInvitation, User
from reports.models import ExportStatus, PracticeExport, Report, ReportBatch

TEST_PASSWORD = "correct horse battery staple"


class PracticeFactory(DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    timezone = "Europe/London"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Staff Member {n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    practice = factory.SubFactory(PracticeFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CLINICIAN

    @classmethod
    def _create(cls, model_class: type[Membership], *args: Any, **kwargs: Any) -> Membership:
        # In the practice's scope, so the database's tenant wall accepts the row too.
        with scope(practice=kwargs["practice"]):
            return super()._create(model_class, *args, **kwargs)


# --- Client data ------------------------------------------------------------


SAFE_ANSWERS = {"ss01": 0, "ss02": 0, "ss03": 0, "ss04": 0, "ss05": 0}


def pulse() -> Instrument:
    return instrument_services.latest_published("connection-pulse")


def instrument(key: str) -> Instrument:
    return instrument_services.latest_published(key)


def make_couple(
    practice: Practice, clinician: User, label: str = "Test & Couple", n: int = 0
) -> Couple:
    """A couple with two partners, created through the service like the UI does."""
    with scope(practice=practice):
        return client_services.create_couple(
            practice=practice,
            actor=clinician,
            label=label,
            clinicians=[clinician],
            partners=[
                client_services.PartnerDetails(
                    f"Partner One {n}", f"one{n}.{practice.slug}@example.test"
                ),
                client_services.PartnerDetails(
                    f"Partner Two {n}", f"two{n}.{practice.slug}@example.test"
                ),
            ],
        )


def assign(couple: Couple, key: str = "connection-pulse", actor: User | None = None, **kwargs):
    with scope(practice=couple.practice):
        return assignment_services.assign(
            couple=couple,
            instrument=instrument(key),
            actor=actor or couple.clinicians.first(),
            first_due=kwargs.pop("first_due", timezone.localdate() + timedelta(days=3)),
            **kwargs,
        )


def open_form(couple: Couple, key: str = "connection-pulse", **kwargs) -> Occurrence:
    """Assign an instrument and return its first occurrence."""
    assignment = assign(couple, key, **kwargs)
    with scope(practice=couple.practice):
        return assignment.occurrences.get()


def answer(
    occurrence: Occurrence, partner: Partner, answers: dict, submit: bool = True
) -> Response:
    """A partner's response, saved (and submitted) through the services.

    What the submission queues after commit (scoring, alert emails) runs too,
    even inside a test transaction that never commits.
    """
    with scope(practice=occurrence.practice), TestCase.captureOnCommitCallbacks(execute=True):
        draft = response_services.draft_for(occurrence, partner)
        draft = response_services.save_answers(draft, answers)
        if submit:
            draft, _ = response_services.submit(draft)
        return draft


@dataclass
class CaseFile:
    """One practice's full set of client objects, for route matrices."""

    couple: Couple
    partner_one: Partner
    partner_two: Partner
    occurrence: Occurrence
    safety_occurrence: Occurrence
    response: Response
    alert: Alert
    custom_instrument: Instrument
    report: Report
    batch: ReportBatch
    token: ApiToken
    token_secret: str
    export: PracticeExport
    invitation: StaffInvitation


CUSTOM_DEFINITION = {
    "key": "check-in",
    "version": 1,
    "default_language": "en",
    "languages": ["en"],
    "title": {"en": "Weekly check-in"},
    "description": {"en": "Two quick questions."},
    "estimated_minutes": 1,
    "practice_authored": True,
    "validated": False,
    "citation": "Written by the practice.",
    "licence": "CC BY 4.0",
    "direction": "higher_is_better",
    "items": [
        {"link_id": "q1", "type": "rating", "text": {"en": "How close did you feel this week?"}},
        {"link_id": "q2", "type": "rating", "text": {"en": "How calm were your talks?"}},
    ],
    "scales": [
        {
            "key": "total",
            "label": {"en": "Check-in"},
            "items": ["q1", "q2"],
            "method": "mean",
            "min_answered": 2,
            "total": True,
        },
    ],
}


def tiny_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#2f6f6a").save(buffer, format="PNG")
    return buffer.getvalue()


def case_file(practice: Practice, clinician: User, owner: User) -> CaseFile:
    """A couple with answered forms, a safety alert and a draft practice instrument."""
    from django.core.files.base import ContentFile

    practice.logo.save("logo.png", ContentFile(tiny_png()), save=True)
    couple = make_couple(practice, clinician, label=f"{practice.name} couple")
    with scope(practice=practice):
        one, two = list(couple.partners.order_by("position"))
        pulse_assignment = assign(couple)
        occurrence = pulse_assignment.occurrences.get()
        response = answer(occurrence, one, {"pulse": 7})
        answer(occurrence, two, {"pulse": 4})
        safety = assign(couple, "safety-screen", partner=one)
        safety_occurrence = safety.occurrences.get()
        answer(safety_occurrence, one, {**SAFE_ANSWERS, "ss01": 1})
        alert = Alert.objects.get(couple=couple, kind="safety")
        batch = ReportBatch.objects.create(
            practice=practice,
            kind="couple",
            period_start=timezone.localdate(),
            period_end=timezone.localdate(),
            created_by=clinician,
        )
        report = Report.objects.create(
            practice=practice,
            couple=couple,
            kind="couple",
            period_start=timezone.localdate(),
            period_end=timezone.localdate(),
            status="ready",
            batch=batch,
        )
        # Route matrices need a ready file, not a real render (tests/test_reports.py does those).
        report.file.save(f"{report.uuid}.pdf", ContentFile(b"%PDF-1.7 stand-in"), save=True)
        custom = instrument_services.upload(
            practice=practice, actor=owner, definition=CUSTOM_DEFINITION
        )
        export = PracticeExport.objects.create(
            practice=practice, created_by=owner, status=ExportStatus.DONE, progress=100
        )
        # A stand-in zip; tests/test_exports.py builds real ones.
        export.file.save(f"exports/{export.uuid}.zip", ContentFile(b"PK\x05\x06" + bytes(18)))
    with scope(practice=practice):
        token, secret = tokens.create(practice=practice, user=owner, name="test script")
        invitation = members.invite_member(
            practice=practice,
            actor=owner,
            email=f"invited@{practice.slug}.test",
            full_name="Invited Colleague",
            role="clinician",
        )
    return CaseFile(
        couple,
        one,
        two,
        occurrence,
        safety_occurrence,
        response,
        alert,
        custom,
        report,
        batch,
        token,
        secret,
        export,
        invitation,
    )
