"""The partner's form: answer (saved as you go), review, submit, confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from assessments.models import Instrument, Occurrence, Response
from assessments.portal import instrument_language, occurrence_for, portal_title
from assessments.presentation import answer_label, error_message, form_items
from assessments.services import responses as response_services
from clients.models import Partner
from clients.portal import PortalRequest, portal_view
from practice import audit

FIELD_PREFIX = "a-"


def parse_answers(data: Any, instrument: Instrument) -> dict[str, Any]:
    """Answers from a posted form: numbers for choices, text for text, '' clears."""
    answers: dict[str, Any] = {}
    for item in instrument.definition["items"]:
        key = FIELD_PREFIX + item["link_id"]
        if key not in data:
            continue
        raw = data.get(key, "")
        if item["type"] == "text":
            answers[item["link_id"]] = raw or None
        elif raw.strip() == "":
            answers[item["link_id"]] = None
        elif item["type"] == "number":
            # A decimal comma is how many partners type a number.
            answers[item["link_id"]] = _number(raw.strip().replace(",", "."))
        else:
            answers[item["link_id"]] = _number(raw)
    return answers


def _number(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw  # not a number: validation names it


def _response(partner: Partner, occurrence: Occurrence) -> Response | None:
    return Response.objects.filter(occurrence=occurrence, partner=partner).first()


def _closed(
    request: HttpRequest, occurrence: Occurrence, response: Response | None
) -> HttpResponse | None:
    """The page to show instead of the form when it cannot be answered any more."""
    if response is not None and response.is_submitted:
        return redirect("portal:form_done", occurrence_id=occurrence.uuid)
    if occurrence.cancelled:
        return render(request, "assessments/portal/form_closed.html", status=410)
    return None


@portal_view
def _render_form(
    request: PortalRequest,
    occurrence: Occurrence,
    answers: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    partner = request.partner
    instrument = occurrence.instrument
    language = instrument_language(partner, instrument.definition)
    items = form_items(instrument, answers, language, errors)
    return render(
        request,
        "assessments/portal/form.html",
        {
            "occurrence": occurrence,
            "instrument": instrument,
            "title": instrument.text("title", language),
            "page_title": portal_title(instrument, language),
            "description": instrument.text("description", language),
            "instructions": instrument.text("instructions", language),
            "items": items,
            "answered": sum(1 for i in items if i["answer"] not in (None, "")),
            "total": len(items),
            "errors": errors,
            "form_language": language,
        },
        status=status,
    )


@portal_view
def form(request: PortalRequest, occurrence_id: str) -> HttpResponse:
    """The questions, with saved answers filled in. POST saves (no-JS path) and may go to review."""
    partner = request.partner
    occurrence = occurrence_for(partner, occurrence_id)
    response = _response(partner, occurrence)
    closed = _closed(request, occurrence, response)
    if closed is not None:
        return closed
    if request.method == "POST":
        answers = parse_answers(request.POST, occurrence.instrument)
        draft = response or response_services.draft_for(occurrence, partner)
        try:
            draft = response_services.save_answers(draft, answers)
        except response_services.AnswerErrors as exc:
            merged = {**draft.answers, **{k: v for k, v in answers.items() if v is not None}}
            return _render_form(request, occurrence, merged, exc.errors, status=400)
        except response_services.ResponseClosed:
            return _closed(request, occurrence, draft) or redirect("portal:home")
        if "review" in request.POST:
            return redirect("portal:form_review", occurrence_id=occurrence.uuid)
        messages.success(request, _("Saved. You can come back and finish any time."))
        return redirect("portal:home")
    audit.record_for_partner(
        "portal.form_view",
        partner,
        request=request,
        target=occurrence,
    )
    return _render_form(request, occurrence, response.answers if response else {}, {})


@portal_view
def review(request: PortalRequest, occurrence_id: str) -> HttpResponse:
    """All answers on one page before submitting; POST submits."""
    partner = request.partner
    occurrence = occurrence_for(partner, occurrence_id)
    response = _response(partner, occurrence)
    closed = _closed(request, occurrence, response)
    if closed is not None:
        return closed
    if response is None:
        response = response_services.draft_for(occurrence, partner)
    if request.method == "POST":
        try:
            response_services.submit(response)
        except response_services.AnswerErrors as exc:
            return _render_form(request, occurrence, response.answers, exc.errors, status=400)
        except response_services.ResponseClosed:
            return _closed(request, occurrence, response) or redirect("portal:home")
        return redirect("portal:form_done", occurrence_id=occurrence.uuid)
    instrument = occurrence.instrument
    language = instrument_language(partner, instrument.definition)
    rows = []
    missing = 0
    for item in form_items(instrument, response.answers, language, {}):
        if not item["shown"]:
            continue  # the partner's answers skip this question
        definition_item = next(
            i for i in instrument.definition["items"] if i["link_id"] == item["link_id"]
        )
        label = answer_label(instrument, definition_item, item["answer"], language)
        is_missing = item["required"] and not label
        missing += is_missing
        rows.append(
            {
                **item,
                "label": label,
                "missing": is_missing,
                "missing_message": error_message("required") if is_missing else "",
                # So the page can show an answer still waiting in the browser by its label.
                "labels": {
                    str(value): answer_label(instrument, definition_item, value, language)
                    for value, _label in item["options"]
                },
            }
        )
    return render(
        request,
        "assessments/portal/review.html",
        {
            "occurrence": occurrence,
            "required_message": error_message("required"),
            "title": instrument.text("title", language),
            "rows": rows,
            "missing": missing,
        },
    )


@portal_view
def done(request: PortalRequest, occurrence_id: str) -> HttpResponse:
    """Thank you. After the private safety check-in, a discreet word about support."""
    partner = request.partner
    occurrence = occurrence_for(partner, occurrence_id)
    response = _response(partner, occurrence)
    if response is None or not response.is_submitted:
        return redirect("portal:form", occurrence_id=occurrence.uuid)
    resources = [
        line.strip() for line in partner.practice.support_resources.splitlines() if line.strip()
    ]
    return render(
        request,
        "assessments/portal/done.html",
        {
            "title": portal_title(
                occurrence.instrument,
                instrument_language(partner, occurrence.instrument.definition),
            ),
            "private": occurrence.instrument.is_private,
            "resources": resources,
            "occurrence_uuid": occurrence.uuid,
        },
    )
