"""Owner and clinician pages for data in and out: FHIR import, the scales step, downloads."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from assessments import definition as defn
from assessments.api_fhir import scores_csv_response
from assessments.fhir import FhirError, scales
from assessments.forms import MAX_DEFINITION_BYTES
from assessments.models import Instrument, InstrumentStatus
from assessments.services import fhir as fhir_services
from clients.access import get_couple
from practice.lookups import get_or_404
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require

BAND_LINE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s+(-?\d+(?:[.,]\d+)?)\s+(.+?)\s*$")
EXTRA_ROWS = 1


class FhirUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("FHIR file (JSON)"),
        help_text=gettext_lazy(
            "A FHIR R4 Questionnaire becomes a draft form; a Bundle exported from Attune with a "
            "couple's answers becomes a new couple with those answers. Maximum 512 KB."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DEFINITION_BYTES:
            raise forms.ValidationError(_("The file is larger than 512 KB."))
        try:
            resource = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError(
                _("The file is not valid JSON: %(error)s") % {"error": exc}
            ) from None
        if not isinstance(resource, dict) or resource.get("resourceType") not in {
            "Questionnaire",
            "Bundle",
        }:
            raise forms.ValidationError(_("This is neither a FHIR Questionnaire nor a Bundle."))
        return resource


@never_cache
@staff_view(Can.MANAGE_INSTRUMENTS)
def fhir_import(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Upload a Questionnaire (a draft, then the scales step) or a couple's Bundle (owners)."""
    membership = request.membership
    form = FhirUploadForm(request.POST or None, request.FILES or None)
    refusals: list[Any] = []
    if request.method == "POST" and form.is_valid():
        resource = form.cleaned_data["file"]
        try:
            if resource["resourceType"] == "Bundle":
                require(membership, Can.MANAGE_DATA)
                couple = fhir_services.import_couple(
                    practice=request.practice,
                    actor=request.user,
                    bundle=resource,
                    clinicians=[request.user],
                    request=request,
                )
                messages.success(request, _("Imported as a new couple, with their answers."))
                return redirect("couple_detail", practice_slug=practice_slug, couple_id=couple.uuid)
            instrument = fhir_services.import_questionnaire(
                practice=request.practice,
                actor=request.user,
                resource=resource,
                request=request,
            )
        except FhirError as exc:
            refusals = exc.refusals
        except (defn.DefinitionError, ValidationError) as exc:
            form.add_error(None, str(exc))
        else:
            if instrument.scales_pending:
                messages.success(request, _("Imported as a draft. Now choose its scales."))
                return redirect(
                    "instrument_scales", practice_slug=practice_slug, instrument_id=instrument.uuid
                )
            messages.success(request, _("Imported as a draft. Check the preview, then publish."))
            return redirect(
                "instrument_detail", practice_slug=practice_slug, instrument_id=instrument.uuid
            )
    return render(
        request,
        "assessments/fhir_import.html",
        {"nav": "instruments", "form": form, "refusals": refusals},
    )


class ScalesForm(forms.Form):
    direction = forms.ChoiceField(
        label=gettext_lazy("Higher scores mean"),
        choices=[
            ("higher_is_better", gettext_lazy("better (more connection)")),
            ("higher_is_worse", gettext_lazy("worse (more difficulty)")),
        ],
    )
    validated = forms.BooleanField(
        label=gettext_lazy("Published validation evidence exists for this measure"),
        required=False,
    )
    practice_authored = forms.BooleanField(
        label=gettext_lazy("Written by this practice"), required=False
    )
    reverse = forms.MultipleChoiceField(
        label=gettext_lazy("Reverse-keyed items"),
        help_text=gettext_lazy("Scored the other way round before any scale uses them."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reverse"].choices = items  # type: ignore[attr-defined]


class ScaleRowForm(forms.Form):
    key = forms.SlugField(label=gettext_lazy("Key"), max_length=40, required=False)
    label = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    method = forms.ChoiceField(
        label=gettext_lazy("Combine by"),
        choices=[("sum", gettext_lazy("sum")), ("mean", gettext_lazy("mean"))],
    )
    min_answered = forms.IntegerField(
        label=gettext_lazy("Answers needed"),
        min_value=1,
        required=False,
        help_text=gettext_lazy("Empty: 80 percent of its items."),
    )
    total = forms.BooleanField(label=gettext_lazy("The headline total"), required=False)
    items = forms.MultipleChoiceField(
        label=gettext_lazy("Items"), required=False, widget=forms.CheckboxSelectMultiple
    )
    bands = forms.CharField(
        label=gettext_lazy("Bands (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line: lowest, highest and a name, e.g. “0 6 Low”."),
    )

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = items  # type: ignore[attr-defined]

    @property
    def used(self) -> bool:
        data = self.cleaned_data
        return bool(data.get("items") or data.get("label") or data.get("key"))

    def scale(self, languages: list[str]) -> dict[str, Any]:
        data = self.cleaned_data
        label = data["label"] or data["key"]
        scale: dict[str, Any] = {
            "key": (data["key"] or slugify(label).replace("-", "_") or "scale")[:40],
            "label": label,
            "items": list(data["items"]),
            "method": data["method"],
            "total": bool(data["total"]),
        }
        if data.get("min_answered"):
            scale["min_answered"] = data["min_answered"]
        bands = []
        for number, line in enumerate((data.get("bands") or "").splitlines(), start=1):
            if not line.strip():
                continue
            match = BAND_LINE.match(line)
            if match is None:
                self.add_error(
                    "bands", _("Line %(n)d is not “lowest highest name”.") % {"n": number}
                )
                continue
            low, high, name = match.groups()
            key = slugify(name).replace("-", "_") or f"band{number}"
            bands.append(
                {
                    "key": key if key[0].isalpha() else f"b_{key}",
                    "min": float(low.replace(",", ".")),
                    "max": float(high.replace(",", ".")),
                    "label": name,
                }
            )
        if bands:
            scale["bands"] = bands
        return scale


def _scorable(instrument: Instrument, language: str) -> list[tuple[str, str]]:
    default = instrument.definition["default_language"]
    return [
        (item["link_id"], f"{item['link_id']}: {defn.localized(item['text'], language, default)}")
        for item in instrument.definition["items"]
        if item["type"] in defn.SCORED_TYPES
    ]


def _initial_rows(instrument: Instrument, language: str) -> list[dict[str, Any]]:
    default = instrument.definition["default_language"]
    rows = []
    for scale in instrument.definition["scales"]:
        rows.append(
            {
                "key": scale["key"],
                "label": defn.localized(scale["label"], language, default),
                "method": scale["method"],
                "min_answered": scale["min_answered"],
                "total": bool(scale.get("total")),
                "items": scale["items"],
                "bands": "\n".join(
                    f"{b['min']:g} {b['max']:g} {defn.localized(b['label'], language, default)}"
                    for b in scale.get("bands", [])
                ),
            }
        )
    return rows


def _preview(definition: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """Each scale as the owner should check it: items, rule, possible range, bands."""
    default = definition["default_language"]
    ranges = {
        item["link_id"]: defn.value_range(definition, item)
        for item in definition["items"]
        if item["type"] in defn.SCORED_TYPES and defn.has_range(definition, item)
    }
    reverse = {i["link_id"] for i in definition["items"] if i.get("reverse")}
    rows = []
    for scale in definition["scales"]:
        low, high = defn.scale_range(scale, ranges[scale["items"][0]])
        rows.append(
            {
                "label": defn.localized(scale["label"], language, default),
                "total": bool(scale.get("total")),
                "method": scale["method"],
                "items": [(link_id, link_id in reverse) for link_id in scale["items"]],
                "min_answered": scale["min_answered"],
                "low": low,
                "high": high,
                "bands": [
                    (b["min"], b["max"], defn.localized(b["label"], language, default))
                    for b in scale.get("bands", [])
                ],
            }
        )
    return rows


@never_cache
@staff_view(Can.MANAGE_INSTRUMENTS)
def instrument_scales(
    request: PracticeRequest, practice_slug: str, instrument_id: str
) -> HttpResponse:
    """The scales step of a draft: choose, preview, save."""
    instrument = get_or_404(
        Instrument.objects.filter(
            practice=request.practice,
            status=InstrumentStatus.DRAFT,
        ),
        uuid=instrument_id,
    )
    language = request.LANGUAGE_CODE
    items = _scorable(instrument, language)
    initial_rows = _initial_rows(instrument, language)
    definition = instrument.definition
    data = request.POST if request.method == "POST" else None
    count = int(request.POST.get("rows", 0) or 0) if data else len(initial_rows) + EXTRA_ROWS
    count = max(1, min(count + (1 if data and "more" in request.POST else 0), 20))
    form = ScalesForm(
        data,
        items=items,
        initial={
            "direction": definition["direction"],
            "validated": definition["validated"],
            "practice_authored": definition["practice_authored"],
            "reverse": [i["link_id"] for i in definition["items"] if i.get("reverse")],
        },
    )
    rows = [
        ScaleRowForm(
            data,
            prefix=f"s{n}",
            items=items,
            initial=initial_rows[n] if n < len(initial_rows) else {"method": "sum"},
        )
        for n in range(count)
    ]
    problems: list[defn.Problem] = []
    preview = None
    if data is not None and "more" not in request.POST:
        if form.is_valid() and all(row.is_valid() for row in rows):
            spec = {
                "direction": form.cleaned_data["direction"],
                "validated": form.cleaned_data["validated"],
                "practice_authored": form.cleaned_data["practice_authored"],
                "reverse": list(form.cleaned_data["reverse"]),
                "scales": [
                    row.scale(definition["languages"])
                    for row in rows
                    if row.is_valid() and row.used
                ],
            }
            if all(not row.errors for row in rows):
                try:
                    if "save" in request.POST:
                        fhir_services.set_scales(
                            instrument,
                            spec,
                            actor=request.user,
                            request=request,
                        )
                        messages.success(
                            request, _("Scales saved. Check the preview, then publish.")
                        )
                        return redirect(
                            "instrument_detail",
                            practice_slug=practice_slug,
                            instrument_id=instrument.uuid,
                        )
                    preview = _preview(scales.complete(definition, spec), language)
                except defn.DefinitionError as exc:
                    problems = exc.problems
    elif definition["scales"]:
        preview = _preview(definition, language)
    return render(
        request,
        "assessments/instrument_scales.html",
        {
            "nav": "instruments",
            "instrument": instrument,
            "form": form,
            "rows": rows,
            "row_count": count,
            "problems": problems,
            "preview": preview,
            "notes": instrument.import_notes,
        },
    )


@staff_view()
def instruments_fhir(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Every instrument this practice can use, as one FHIR Bundle file."""
    require(request.membership, Can.ASSIGN)
    instruments = (
        Instrument.objects.exclude(status=InstrumentStatus.RETIRED)
        .select_related("practice")
        .order_by("key", "version")
    )
    response = JsonResponse(
        fhir_services.instruments_bundle(instruments), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Disposition"] = 'attachment; filename="instruments.fhir.json"'
    return response


@staff_view()
def instrument_fhir(
    request: PracticeRequest, practice_slug: str, instrument_id: str
) -> HttpResponse:
    """One instrument as a FHIR Questionnaire file."""
    require(request.membership, Can.ASSIGN)
    instrument = get_or_404(Instrument.objects.select_related("practice"), uuid=instrument_id)
    response = JsonResponse(
        fhir_services.questionnaire_of(instrument), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{instrument.key}-v{instrument.version}.fhir.json"'
    )
    return response


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name) in {"1", "true", "on"}


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def couple_fhir(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    """A couple's answers as a FHIR Bundle file (audited; private answers, names when asked)."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    export = fhir_services.export_couple(
        couple,
        actor=request.user,
        include_private=_flag(request, "private"),
        include_names=_flag(request, "names"),
        request=request,
    )
    response = JsonResponse(export.bundle, json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="couple-{couple.uuid}.fhir.json"'
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def couple_scores_csv(
    request: PracticeRequest, practice_slug: str, couple_id: str
) -> HttpResponseBase:
    """A couple's scores as CSV (audited)."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    return scores_csv_response(
        request,
        couple,
        include_private=_flag(request, "private"),
        include_names=_flag(request, "names"),
    )
