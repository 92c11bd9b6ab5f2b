"""FHIR verbs: import a Questionnaire as a draft, complete its scales, export instruments
and a couple's answers, and import a couple's answers from a Bundle.

The mapping itself is pure (``assessments.fhir``); this module finds and
writes rows, one transaction per verb, and records each verb in the audit trail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from assessments import definition as defn
from assessments import summary
from assessments.fhir import (
    BASE,
    SYSTEM_PARTNER,
    FhirError,
    Refusal,
    exporter,
    importer,
    responses,
    scales,
)
from assessments.models import (
    Assignment,
    AssignmentStatus,
    Instrument,
    InstrumentStatus,
    Occurrence,
    Response,
    ResponseState,
)
from assessments.services import instruments as instrument_services
from assessments.services.scoring import score_rows, write_scores
from clients import services as client_services
from clients.models import Couple, Partner
from practice import audit
from practice.models import Practice, User

PLACEHOLDER_DOMAIN = "imported.invalid"


def _total_label(languages: Iterable[str]) -> dict[str, str]:
    labels = {}
    for language in languages:
        with translation.override(language):
            labels[language] = _("Total")
    return labels


def _key_for(practice: Practice, proposed: str, url: str | None) -> tuple[str, int]:
    """A key and version: a new version of the same questionnaire, else a free key."""
    builtin = set(Instrument.objects.filter(practice__isnull=True).values_list("key", flat=True))
    for n in range(1, 100):
        key = proposed if n == 1 else f"{proposed[:58]}-{n}"
        if key in builtin:
            continue
        mine = Instrument.objects.filter(practice=practice, key=key).order_by("-version")
        latest = mine.first()
        if latest is None:
            return key, 1
        if url and latest.definition.get("fhir", {}).get("url") == url:
            if latest.status == InstrumentStatus.DRAFT:
                return key, latest.version
            return key, (mine.aggregate(m=Max("version"))["m"] or 0) + 1
    raise ValidationError(_("No free key for this questionnaire; rename it and try again."))


@transaction.atomic
def import_questionnaire(
    *,
    practice: Practice,
    actor: User | None,
    resource: Any,
    spec: Any = None,
    request: HttpRequest | None = None,
) -> Instrument:
    """Store a FHIR Questionnaire as a draft instrument of the practice.

    With ``spec`` (or scales carried by our own export) the scales step is done
    at once; otherwise a provisional total is set and the draft waits for the
    owner's scales step before it can be published. Raises FhirError (what
    cannot be shown or scored, by linkId) or DefinitionError (the scales).
    """
    existing = already_here(practice, resource)
    if existing is not None:
        raise FhirError(
            [
                Refusal(
                    "",
                    f"this questionnaire is already here: {existing.key} version "
                    f"{existing.version}",
                )
            ]
        )
    draft = importer.parse(resource)
    definition = draft.definition
    url = definition.get("fhir", {}).get("url")
    definition["key"], definition["version"] = _key_for(practice, definition["key"], url)
    chosen = spec if spec is not None else draft.scoring
    pending = chosen is None
    if pending:
        chosen = scales.provisional_spec(definition, _total_label(definition["languages"]))
        if not chosen["scales"]:
            raise FhirError([Refusal("", "no question in it can be scored")])
    complete = scales.complete(definition, chosen)
    instrument = instrument_services.upload(
        practice=practice,
        actor=actor,  # type: ignore[arg-type]
        definition=complete,
        request=request,
    )
    instrument.scales_pending = pending
    instrument.import_notes = draft.notes
    instrument.save(update_fields=["scales_pending", "import_notes"])
    audit.record(
        "instrument.fhir_import",
        request=request,
        actor=actor,
        practice=practice,
        target=instrument,
        items=len(complete["items"]),
        notes=len(draft.notes),
        scales_pending=pending,
    )
    return instrument


def already_here(practice: Practice, resource: Any) -> Instrument | None:
    """The published (or retired) instrument a Questionnaire's canonical URL and version name.

    Our own export of a built-in, or of an instrument the practice already has,
    is not imported a second time.
    """
    if not isinstance(resource, Mapping):
        return None
    url, version = resource.get("url"), resource.get("version")
    if not isinstance(url, str) or not url:
        return None
    return _resolve(practice, url, version if isinstance(version, str) else None)


@transaction.atomic
def set_scales(
    instrument: Instrument, spec: Any, *, actor: User | None, request: HttpRequest | None = None
) -> Instrument:
    """The owner's scales step on a draft (raises DefinitionError naming each problem)."""
    if instrument.status != InstrumentStatus.DRAFT or instrument.is_builtin:
        raise ValidationError(_("Only a draft of your own can have its scales changed."))
    definition = scales.complete(instrument.definition, spec)
    instrument.definition = definition
    instrument.digest = defn.digest(definition)
    instrument.scales_pending = False
    instrument.save(update_fields=["definition", "digest", "scales_pending"])
    audit.record(
        "instrument.scales",
        request=request,
        actor=actor,
        target=instrument,
        scales=len(definition["scales"]),
    )
    return instrument


def _practice_uuid(instrument: Instrument) -> str | None:
    return str(instrument.practice.uuid) if instrument.practice_id else None  # type: ignore[union-attr]


def questionnaire_of(instrument: Instrument) -> dict[str, Any]:
    """One instrument version as a FHIR Questionnaire (instruments hold no client data)."""
    publisher = instrument.practice.public_name if instrument.practice_id else "Attune"  # type: ignore[union-attr]
    return exporter.questionnaire(
        instrument.definition,
        status=instrument.status,
        practice_uuid=_practice_uuid(instrument),
        publisher=publisher,
    )


def instruments_bundle(instruments: Iterable[Instrument]) -> dict[str, Any]:
    """Many instrument versions as one collection Bundle."""
    return exporter.bundle(
        (questionnaire_of(i) for i in instruments),
        timestamp=timezone.now().isoformat(),
        private_left_out=False,
    )


@dataclass(frozen=True)
class CoupleExport:
    bundle: dict[str, Any]
    responses: int
    private_left_out: int  # responses or answers held back


def _answered(response: Response) -> exporter.Answered:
    submitted = response.submitted_at or response.updated_at
    return exporter.Answered(
        uuid=str(response.uuid),
        partner_uuid=str(response.partner.uuid),
        answers=response.answers,
        authored=submitted.isoformat(),
        language=response.language,
        occurrence_uuid=str(response.occurrence.uuid),
        due=response.occurrence.due_date.isoformat(),
    )


def couple_bundle(
    couple: Couple,
    *,
    include_private: bool = False,
    include_names: bool = False,
) -> CoupleExport:
    """The couple (Group), partners (Patient), instruments and submitted answers as a Bundle.

    Private answers (the safety screen, private items) are left out unless asked
    for; names and emails likewise. Pure reading: the caller audits.
    """
    partners = list(couple.partners.order_by("position"))
    people = [
        exporter.Person(
            str(p.uuid),
            p.position,
            p.language,
            p.display_name if include_names else None,
            p.email if include_names else None,
        )
        for p in partners
    ]
    submitted = list(
        Response.objects.filter(couple=couple, state=ResponseState.SUBMITTED)
        .select_related("partner", "occurrence")
        .order_by("submitted_at", "pk")
    )
    instruments: dict[int, Instrument] = {}
    versions = {
        i.pk: i
        for i in Instrument.objects.filter(
            pk__in={r.instrument_id for r in submitted}
        ).select_related("practice")
    }
    answer_resources = []
    left_out = 0
    for response in submitted:
        instrument = response.instrument = versions[response.instrument_id]
        if instrument.is_private and not include_private:
            left_out += 1
            continue
        instruments.setdefault(instrument.pk, instrument)
        definition = instrument.definition
        resource = exporter.questionnaire_response(
            definition,
            _answered(response),
            questionnaire=exporter.response_canonical(definition, _practice_uuid(instrument)),
            include_private=include_private,
        )
        if not include_private and any(
            i.get("private") and i["link_id"] in response.answers for i in definition["items"]
        ):
            left_out += 1
        answer_resources.append(resource)
    resources = [
        exporter.couple_group(str(couple.uuid), people, couple.label if include_names else None),
        *(exporter.patient(p) for p in people),
        *(questionnaire_of(i) for i in instruments.values()),
        *answer_resources,
    ]
    bundle = exporter.bundle(
        resources, timestamp=timezone.now().isoformat(), private_left_out=not include_private
    )
    return CoupleExport(bundle, len(answer_resources), left_out)


def export_couple(
    couple: Couple,
    *,
    actor: User | None,
    include_private: bool = False,
    include_names: bool = False,
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> CoupleExport:
    """``couple_bundle``, audited (with the choices made, never the content)."""
    result = couple_bundle(couple, include_private=include_private, include_names=include_names)
    audit.record(
        "couple.fhir_export",
        request=request,
        actor=actor,
        practice=couple.practice,
        target=couple,
        actor_label=actor_label,
        responses=result.responses,
        include_private=include_private,
        include_names=include_names,
        private_left_out=result.private_left_out,
    )
    return result


def _resolve(practice: Practice, url: str, version: str | None) -> Instrument | None:
    """The instrument version a response's canonical names, among those it could answer."""
    candidates = Instrument.objects.exclude(status=InstrumentStatus.DRAFT).filter(
        practice__isnull=True
    ) | Instrument.objects.exclude(status=InstrumentStatus.DRAFT).filter(practice=practice)
    for instrument in candidates.order_by("-version"):
        definition = instrument.definition
        ours = exporter.canonical_url(definition, _practice_uuid(instrument))
        same_version = version is None or version == exporter.questionnaire_version(definition)
        if ours == url and same_version:
            return instrument
        # An export of this practice's own instrument from another server or practice.
        prefix = f"{BASE}/Questionnaire/practice/"
        if (
            instrument.practice_id
            and url.startswith(prefix)
            and url.rsplit("/", 1)[-1] == instrument.key
            and "fhir" not in definition
            and same_version
        ):
            return instrument
    return None


def _when(value: Any) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@transaction.atomic
def import_couple(
    *,
    practice: Practice,
    actor: User,
    bundle: Any,
    label: str = "",
    clinicians: list[User] | None = None,
    request: HttpRequest | None = None,
) -> Couple:
    """A new couple from a couple Bundle: partners, and each completed response, scored.

    Every response's questionnaire must already be an instrument the practice can
    answer (a built-in, or one it imported and published); every problem is
    reported at once and then nothing is written. Imported answers raise no
    alerts: they are history, and the clinician reads them as such.
    """
    parsed = responses.parse_bundle(bundle)
    refusals: list[Refusal] = []
    decoded: list[_Decoded] = []
    for resource in parsed.responses:
        name = str(resource.get("id", ""))
        url, version = responses.questionnaire_of(resource)
        instrument = _resolve(practice, url, version)
        if instrument is None:
            refusals.append(
                Refusal(
                    name,
                    f"its questionnaire {url}|{version or ''} is not a published instrument of "
                    "this practice; import and publish that Questionnaire first",
                )
            )
            continue
        try:
            answers = responses.answers_from(instrument.definition, resource)
        except FhirError as exc:
            refusals.extend(Refusal(f"{name} {r.link_id}", r.reason) for r in exc.refusals)
            continue
        authored = _when(resource.get("authored"))
        if authored is None:
            refusals.append(Refusal(name, "it has no authored date and time"))
            continue
        subject = responses.reference_uuid(resource.get("subject"), SYSTEM_PARTNER) or ""
        decoded.append(_Decoded(resource, instrument, answers, authored, subject))
    if refusals:
        raise FhirError(refusals)
    details = []
    for position, person in enumerate(parsed.people, start=1):
        digest = hashlib.sha256(f"{person.uuid}:{timezone.now().isoformat()}".encode())
        language = person.language if person.language in dict(settings.LANGUAGES) else "en"
        details.append(
            client_services.PartnerDetails(
                person.name or _("Partner %(n)d") % {"n": position},
                person.email or f"partner-{digest.hexdigest()[:12]}@{PLACEHOLDER_DOMAIN}",
                "",
                language,
            )
        )
    couple = client_services.create_couple(
        practice=practice,
        actor=actor,
        label=label or parsed.label or _("Imported couple"),
        partners=details,
        clinicians=clinicians or [],
        request=request,
    )
    by_uuid = {
        person.uuid: partner
        for person, partner in zip(parsed.people, couple.partners.order_by("position"), strict=True)
    }
    written = _write_responses(couple, actor, decoded, by_uuid)
    summary.refresh_couple(couple)
    audit.record(
        "couple.fhir_import",
        request=request,
        actor=actor,
        practice=practice,
        target=couple,
        responses=written,
    )
    return couple


@dataclass(frozen=True)
class _Decoded:
    resource: Mapping[str, Any]
    instrument: Instrument
    answers: dict[str, Any]
    authored: datetime
    partner_uuid: str


def _write_responses(
    couple: Couple, actor: User, decoded: list[_Decoded], by_uuid: Mapping[str, Partner]
) -> int:
    """One finished assignment and occurrence per answered form; responses submitted, scored."""
    occurrences: dict[tuple[int, str], Occurrence] = {}
    count = 0
    for entry in decoded:
        resource, instrument, authored = entry.resource, entry.instrument, entry.authored
        partner = by_uuid[entry.partner_uuid]
        occurrence_id, due = responses.occurrence_of(resource)
        due_date: date = parse_date(due or "") or timezone.localdate(authored)
        group = (instrument.pk, occurrence_id or str(resource.get("id")))
        occurrence = occurrences.get(group)
        if (
            occurrence is None
            or Response.objects.filter(occurrence=occurrence, partner=partner).exists()
        ):
            assignment = Assignment.objects.create(
                practice=couple.practice,
                couple=couple,
                instrument=instrument,
                first_due=due_date,
                status=AssignmentStatus.FINISHED,
                reminders=False,
                created_by=actor,
                created_at=authored,
            )
            occurrence = Occurrence.objects.create(
                practice=couple.practice,
                assignment=assignment,
                couple=couple,
                instrument=instrument,
                sequence=1,
                due_date=due_date,
                expected=0,
            )
            occurrences[group] = occurrence
        response = Response.objects.create(
            practice=couple.practice,
            occurrence=occurrence,
            partner=partner,
            couple=couple,
            instrument=instrument,
            state=ResponseState.SUBMITTED,
            answers=defn.without_hidden(instrument.definition, entry.answers),
            language=str(resource.get("language") or partner.language),
            started_at=authored,
            updated_at=authored,
            submitted_at=authored,
        )
        Occurrence.objects.filter(pk=occurrence.pk).update(
            expected=occurrence.expected + 1, submitted=occurrence.submitted + 1
        )
        occurrence.refresh_from_db()
        response.instrument = instrument
        write_scores(score_rows(response, instrument.plan.score(response.answers)))
        Response.objects.filter(pk=response.pk).update(scored_at=timezone.now())
        count += 1
    # Who answered each imported form: one partner or both.
    for occurrence in occurrences.values():
        partners = list(
            Response.objects.filter(occurrence=occurrence).values_list("partner_id", flat=True)
        )
        if len(partners) == 1:
            Assignment.objects.filter(pk=occurrence.assignment_id).update(partner_id=partners[0])
    return count
