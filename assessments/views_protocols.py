"""Protocols: owners define them; clinicians apply them to one couple or many at once."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from assessments.forms import ApplyProtocolForm, ProtocolForm, StepFormSet
from assessments.models import Instrument, Protocol
from assessments.services import protocols as protocol_services
from clients.access import couples_for, get_couple
from clients.models import Couple
from practice import audit
from practice.forms import flash_form_errors
from practice.lookups import get_or_404
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, can, require


def _instrument_choices() -> list[tuple[str, str]]:
    """Published forms by key (a protocol always uses a form's latest published version)."""
    seen: dict[str, str] = {}
    for instrument in Instrument.objects.published().order_by("title", "-version"):
        seen.setdefault(instrument.key, instrument.title)
    return sorted(((key, title) for key, title in seen.items()), key=lambda pair: pair[1])


def _described(protocol: Protocol) -> list[str]:
    titles = dict(_instrument_choices())
    return [
        protocol_services.step_label(step, titles.get(step["instrument"], step["instrument"]))
        for step in protocol.steps
    ]


@never_cache
@staff_view()
def protocol_list(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    membership = request.membership
    require(membership, Can.ASSIGN)
    protocols = list(Protocol.objects.all())
    return render(
        request,
        "assessments/protocol_list.html",
        {
            "nav": "instruments",
            "protocols": [(p, _described(p)) for p in protocols],
            "can_edit": can(membership, Can.MANAGE_INSTRUMENTS),
        },
    )


@never_cache
@staff_view()
def protocol_edit(
    request: PracticeRequest, practice_slug: str, protocol_id: str | None = None
) -> HttpResponse:
    """Define a protocol, or change one (couples it was applied to keep their schedule)."""
    membership = request.membership
    require(membership, Can.MANAGE_INSTRUMENTS)
    protocol = get_or_404(Protocol.objects.all(), uuid=protocol_id) if protocol_id else None
    instruments = _instrument_choices()
    data: QueryDict | None = request.POST if request.method == "POST" else None
    if data is not None and data.get("action") == "add-step":
        data = data.copy()
        count = min(int(data.get("steps-TOTAL_FORMS") or 0), 19)
        data["steps-TOTAL_FORMS"] = str(count + 1)
        # The new row starts as the field defaults say: at the start, counted in weeks.
        for name, value in (("start_after", "0"), ("start_unit", "weeks"), ("unit", "weeks")):
            data[f"steps-{count}-{name}"] = value
    initial_steps = protocol.steps if protocol else [{"start_after": 0}]
    form = ProtocolForm(
        data,
        initial={"name": protocol.name, "description": protocol.description} if protocol else None,
    )
    steps = StepFormSet(
        data,
        prefix="steps",
        initial=None if data is not None else initial_steps,
        form_kwargs={"instruments": instruments},
    )
    if (
        request.method == "POST"
        and request.POST.get("action") == "save"
        and form.is_valid()
        and steps.is_valid()
    ):
        kept = [f.step() for f in steps.forms if f.cleaned_data and not f.cleaned_data["DELETE"]]
        name = form.cleaned_data["name"]
        clash = Protocol.objects.filter(name=name)
        if protocol is not None:
            clash = clash.exclude(pk=protocol.pk)
        if clash.exists():
            form.add_error("name", _("Another protocol has this name."))
        else:
            if protocol is None:
                protocol = Protocol(practice=request.practice, created_by=request.user)
            protocol.name = name
            protocol.description = form.cleaned_data["description"]
            protocol.steps = kept
            protocol.save()
            audit.record("protocol.save", request=request, target=protocol, steps=len(kept))
            messages.success(request, _("Protocol saved."))
            return redirect("protocols", practice_slug=practice_slug)
    return render(
        request,
        "assessments/protocol_form.html",
        {"nav": "instruments", "form": form, "steps": steps, "protocol": protocol},
        status=400 if request.method == "POST" and request.POST.get("action") == "save" else 200,
    )


@require_POST
@staff_view()
def protocol_retire(request: PracticeRequest, practice_slug: str, protocol_id: str) -> HttpResponse:
    """Take a protocol off the lists (or back); couples it was applied to keep their forms."""
    membership = request.membership
    require(membership, Can.MANAGE_INSTRUMENTS)
    protocol = get_or_404(Protocol.objects.all(), uuid=protocol_id)
    protocol.active = not protocol.active
    protocol.save(update_fields=["active"])
    audit.record(
        "protocol.retire" if not protocol.active else "protocol.restore",
        request=request,
        target=protocol,
    )
    return redirect("protocols", practice_slug=practice_slug)


def _report(request: HttpRequest, protocol: Protocol, outcome: protocol_services.Outcome) -> None:
    if outcome.applied:
        messages.success(
            request,
            ngettext(
                "%(protocol)s applied to %(couples)s.",
                "%(protocol)s applied to %(n)d couples: %(couples)s.",
                len(outcome.applied),
            )
            % {
                "protocol": protocol.name,
                "n": len(outcome.applied),
                "couples": ", ".join(c.label for c in outcome.applied),
            },
        )
    if outcome.already:
        messages.info(
            request,
            _("Already applied from that date, so not again: %(couples)s.")
            % {"couples": ", ".join(c.label for c in outcome.already)},
        )
    for couple, reason in outcome.refused:
        messages.error(
            request,
            _("Not applied to %(couple)s: %(reason)s") % {"couple": couple.label, "reason": reason},
        )


@never_cache
@staff_view()
def protocol_apply(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    """Apply a protocol to one couple, and see the couple's schedule."""
    membership = request.membership
    require(membership, Can.ASSIGN)
    couple = get_couple(membership, couple_id)
    form = ApplyProtocolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        protocol = form.cleaned_data["protocol"]
        outcome = protocol_services.apply(
            protocol,
            [couple],
            start=form.cleaned_data["start"],
            actor=request.user,
            request=request,
        )
        _report(request, protocol, outcome)
        if not outcome.refused:
            # Back to the couple's Forms tab, where the new schedule shows.
            return redirect(_forms_tab(practice_slug, couple))
    audit.record("couple.view", request=request, target=couple, page="protocol")
    return render(
        request,
        "assessments/protocol_apply.html",
        {
            "nav": "caseload",
            "couple": couple,
            "form": form,
            "protocols": [(p, _described(p)) for p in Protocol.objects.filter(active=True)],
        },
    )


@require_POST
@staff_view()
def protocol_apply_many(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """The caseload's bulk action: one protocol, many selected couples, one submit."""
    membership = request.membership
    require(membership, Can.ASSIGN)
    form = ApplyProtocolForm(request.POST)
    chosen = request.POST.getlist("couple")
    if not chosen:
        messages.error(request, _("Select the couples to apply it to first."))
        return redirect("caseload", practice_slug=practice_slug)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("caseload", practice_slug=practice_slug)
    couples = list(couples_for(membership).filter(uuid__in=_uuids(chosen)).order_by("label"))
    if len(couples) != len(set(chosen)):
        # A couple outside this person's caseload (or a made-up id): nothing is applied.
        raise Http404
    protocol = form.cleaned_data["protocol"]
    outcome = protocol_services.apply(
        protocol,
        couples,
        start=form.cleaned_data["start"],
        actor=request.user,
        request=request,
    )
    _report(request, protocol, outcome)
    return redirect("caseload", practice_slug=practice_slug)


def _uuids(values: list[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            raise Http404 from None
    return found


def _forms_tab(practice_slug: str, couple: Couple) -> str:
    return reverse("couple_detail", args=[practice_slug, couple.uuid]) + "?tab=forms"
