"""Clinician pages of the assessment engine: assign, results, history, alerts, instruments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from assessments import definition as defn
from assessments.access import (
    get_alert,
    get_assignment,
    get_response,
    visible_alerts,
)
from assessments.alert_text import explain
from assessments.form_results import form_results
from assessments.forms import AssignForm, ResolveAlertForm, UploadInstrumentForm
from assessments.history import chart_svg, couple_history, gap_chart_svg
from assessments.models import (
    Alert,
    AlertStatus,
    AssignmentStatus,
    Instrument,
    InstrumentStatus,
)
from assessments.presentation import form_items
from assessments.services import alerts as alert_services
from assessments.services import assignments as assignment_services
from assessments.services import instruments as instrument_services
from assessments.services import responses as response_services
from clients.access import get_couple
from clients.models import Couple
from practice import audit
from practice.forms import add_service_errors
from practice.lookups import get_or_404
from practice.redirects import back_to
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require


@never_cache
@staff_view(Can.ASSIGN)
def assign(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    membership = request.membership
    couple = get_couple(membership, couple_id)
    form = AssignForm(request.POST or None, couple=couple)
    if request.method == "POST" and form.is_valid():
        chosen = list(form.cleaned_data["instrument"])
        try:
            # All of them or none: a refusal on the third leaves no half-done set.
            with transaction.atomic():
                for instrument in chosen:
                    assignment_services.assign(
                        couple=couple,
                        instrument=instrument,
                        actor=request.user,
                        first_due=form.cleaned_data["first_due"],
                        partner=form.partner,
                        recurrence=form.recurrence,
                        reminders=form.cleaned_data["reminders"],
                        request=request,
                    )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "Form assigned. It is waiting in each partner's portal.",
                    "%(n)d forms assigned. They are waiting in each partner's portal.",
                    len(chosen),
                )
                % {"n": len(chosen)},
            )
            # Back to the couple's Forms tab, where the new schedule shows.
            return redirect(_forms_tab(practice_slug, couple))
    audit.record("couple.view", request=request, target=couple, page="assign")
    return render(
        request, "assessments/assign.html", {"form": form, "couple": couple, "nav": "caseload"}
    )


@require_POST
@staff_view(Can.ASSIGN)
def assignment_status(
    request: PracticeRequest, practice_slug: str, assignment_id: str
) -> HttpResponse:
    """Pause, resume or cancel (the POSTed ``status``)."""
    membership = request.membership
    assignment = get_assignment(membership, assignment_id)
    status = request.POST.get("status", "")
    if status not in {AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED, AssignmentStatus.CANCELLED}:
        messages.error(request, _("Unknown change."))
    else:
        try:
            assignment_services.set_status(
                assignment,
                status,
                actor=request.user,
                request=request,
            )
            messages.success(request, _("Assignment updated."))
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
    return redirect("couple_detail", practice_slug=practice_slug, couple_id=assignment.couple.uuid)


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def occurrence_results(
    request: PracticeRequest, practice_slug: str, occurrence_id: str
) -> HttpResponse:
    """Both partners' answers to one occurrence, side by side, with agreement."""
    record = form_results(request.membership, occurrence_id, request.LANGUAGE_CODE)
    audit.record("results.view", request=request, target=record.occurrence)
    return render(
        request,
        "assessments/results.html",
        {
            "nav": "caseload",
            "results": record,
            "occurrence": record.occurrence,
            "couple": record.occurrence.couple,
            "instrument": record.instrument,
            "comparison": record.comparison,
        },
    )


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def history(
    request: PracticeRequest, practice_slug: str, couple_id: str, instrument_key: str
) -> HttpResponse:
    """One instrument's history for a couple: chart, RCI and classification per partner."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    instrument = (
        Instrument.objects.filter(key=instrument_key)
        .exclude(status=InstrumentStatus.DRAFT)
        .order_by("-version")
        .first()
    )
    if instrument is None:
        raise Http404
    partners = list(couple.partners.order_by("position"))
    scale = request.GET.get("scale") or instrument.total_key
    if scale not in {s["key"] for s in instrument.definition["scales"]}:
        scale = instrument.total_key
    data = couple_history(couple, partners, instrument, scale)
    audit.record("history.view", request=request, target=couple, instrument=instrument.key)
    language = request.LANGUAGE_CODE
    return render(
        request,
        "assessments/history.html",
        {
            "nav": "caseload",
            "couple": couple,
            "instrument": instrument,
            "history": data,
            "svg": chart_svg(data, language) if data.has_data else "",
            "gap_svg": gap_chart_svg(data, language) if data.has_data else "",
            "scales": [
                (s["key"], instrument.scale_label(s["key"], language))
                for s in instrument.definition["scales"]
            ],
            "scale": scale,
        },
    )


@require_POST
@staff_view(Can.VIEW_CLINICAL)
def response_reopen(request: PracticeRequest, practice_slug: str, response_id: str) -> HttpResponse:
    membership = request.membership
    response = get_response(membership, response_id, select=("occurrence",))
    if response.occurrence.cancelled:
        messages.error(request, _("This form was cancelled and cannot be reopened."))
    else:
        response_services.reopen(response, actor=request.user, request=request)
        messages.success(request, _("Reopened. The partner can change and submit it again."))
    return redirect(
        "occurrence_results", practice_slug=practice_slug, occurrence_id=response.occurrence.uuid
    )


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def alert_list(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """The alerts inbox: safety first, then by urgency and age."""
    membership = request.membership
    show = request.GET.get("show", "open")
    alerts = visible_alerts(membership).select_related(
        "couple", "partner", "acknowledged_by", "resolved_by", "response__occurrence", "occurrence"
    )
    if show != "all":
        alerts = alerts.exclude(status=AlertStatus.RESOLVED)
    alerts = explain(  # type: ignore[assignment]
        alerts.order_by("severity", "-created_at")[:200],
        request.LANGUAGE_CODE,
    )
    audit.record("alert.view", request=request, count=len(alerts))
    return render(
        request,
        "assessments/alerts.html",
        {"nav": "alerts", "alerts": alerts, "show": show, "resolve_form": ResolveAlertForm()},
    )


def _alert(request: PracticeRequest, alert_id: str) -> Alert:
    membership = request.membership
    require(membership, Can.VIEW_CLINICAL)
    return get_alert(membership, alert_id)


@require_POST
@staff_view()
def alert_acknowledge(request: PracticeRequest, practice_slug: str, alert_id: str) -> HttpResponse:
    alert = _alert(request, alert_id)
    alert_services.acknowledge(alert, actor=request.user, request=request)
    messages.success(request, _("Alert acknowledged."))
    return redirect(back_to(request, reverse("alerts", args=[practice_slug])))


@require_POST
@staff_view()
def alert_resolve(request: PracticeRequest, practice_slug: str, alert_id: str) -> HttpResponse:
    alert = _alert(request, alert_id)
    form = ResolveAlertForm(request.POST)
    if form.is_valid():
        alert_services.resolve(
            alert,
            actor=request.user,
            note=form.cleaned_data["note"],
            request=request,
        )
        messages.success(request, _("Alert resolved."))
    else:
        messages.error(request, _("Write a short note on what was done before resolving."))
    return redirect(back_to(request, reverse("alerts", args=[practice_slug])))


@staff_view(Can.ASSIGN)
def instrument_list(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """The instruments this practice can assign, and its own drafts."""
    instruments = Instrument.objects.exclude(status=InstrumentStatus.RETIRED).order_by(
        "practice_id", "title", "-version"
    )
    return render(
        request,
        "assessments/instrument_list.html",
        {"nav": "instruments", "instruments": instruments},
    )


@staff_view(Can.ASSIGN)
def instrument_detail(
    request: PracticeRequest, practice_slug: str, instrument_id: str
) -> HttpResponse:
    """An instrument as a client would see it, with its scoring rules."""
    instrument = get_or_404(Instrument.objects.all(), uuid=instrument_id)
    language = request.GET.get("lang") or instrument.definition["default_language"]
    if language not in instrument.definition["languages"]:
        language = instrument.definition["default_language"]
    return render(
        request,
        "assessments/instrument_detail.html",
        {
            "nav": "instruments",
            "instrument": instrument,
            "language": language,
            "intro": {
                field: instrument.text(field, language)
                for field in ("title", "description", "instructions")
            },
            "items": form_items(instrument, {}, language, {}),
            "preview": True,
            "scales": [
                {
                    "label": instrument.scale_label(s["key"], language),
                    "method": s["method"],
                    "count": len(s["items"]),
                    "min_answered": s["min_answered"],
                    "is_total": bool(s.get("total")),
                    "bands": [
                        (b["min"], b["max"], instrument.band_label(s["key"], b["key"], language))
                        for b in s.get("bands", [])
                    ],
                }
                for s in instrument.definition["scales"]
            ],
        },
    )


@staff_view(Can.MANAGE_INSTRUMENTS)
def instrument_upload(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    form = UploadInstrumentForm(request.POST or None, request.FILES or None)
    problems: list[defn.Problem] = []
    if request.method == "POST" and form.is_valid():
        try:
            instrument = instrument_services.upload(
                practice=request.practice,
                actor=request.user,
                definition=form.cleaned_data["definition"],
                request=request,
            )
        except defn.DefinitionError as exc:
            problems = exc.problems
        else:
            messages.success(request, _("Uploaded as a draft. Check the preview, then publish."))
            return redirect(
                "instrument_detail", practice_slug=practice_slug, instrument_id=instrument.uuid
            )
    # A file that cannot be used is a client error, as in the API: 400, with the places named.
    return render(
        request,
        "assessments/instrument_upload.html",
        {"nav": "instruments", "form": form, "problems": problems},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_view(Can.MANAGE_INSTRUMENTS)
def instrument_publish(
    request: PracticeRequest, practice_slug: str, instrument_id: str
) -> HttpResponse:
    instrument = get_or_404(
        Instrument.objects.filter(practice=request.practice),
        uuid=instrument_id,
    )
    if request.POST.get("action") == "discard":
        instrument_services.discard_draft(instrument, actor=request.user, request=request)
        messages.success(request, _("Draft discarded."))
        return redirect("instruments", practice_slug=practice_slug)
    try:
        instrument_services.publish(instrument, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(
            "instrument_scales", practice_slug=practice_slug, instrument_id=instrument.uuid
        )
    messages.success(request, _("Published. Clinicians can assign it now."))
    return redirect("instrument_detail", practice_slug=practice_slug, instrument_id=instrument.uuid)


def _forms_tab(practice_slug: str, couple: Couple) -> str:
    return reverse("couple_detail", args=[practice_slug, couple.uuid]) + "?tab=forms"
