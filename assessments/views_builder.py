"""The form builder's pages: build a new form, edit a draft, start a new version.

The page works as plain forms (every button posts and the page comes back with
the rows kept); its script only adds a live check and preview, which post the
same fields to ``instrument_builder_check`` and swap in the server's answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from assessments import builder as bld
from assessments import definition as defn
from assessments.models import Instrument, InstrumentStatus
from assessments.presentation import form_items
from assessments.services import instruments as instrument_services
from practice.lookups import get_or_404
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require


def _version_for(practice: Any, key: str) -> int:
    """A draft of this key keeps its version; otherwise the next one after any published."""
    mine = Instrument.objects.filter(practice=practice, key=key)
    draft = mine.filter(status=InstrumentStatus.DRAFT).order_by("-version").first()
    if draft is not None:
        return draft.version
    highest = mine.aggregate(top=Max("version"))["top"]
    return (highest or 0) + 1


def _check(builder: bld.Builder, practice: Any) -> dict[str, Any]:
    """Validate the builder's forms and the definition they make, every problem at once."""
    if not builder.is_valid():
        return {"definition": None, "located": builder.field_problems(), "fields_invalid": True}
    key = builder.about.cleaned_data["key"]
    definition, places = bld.build_definition(builder, version=_version_for(practice, key))
    located = bld.locate(defn.problems(definition), places)
    if Instrument.objects.filter(key=key, practice__isnull=True).exists():
        located.insert(
            0,
            bld.Located(
                _("About the form"),
                "id_key",
                "key",
                _("is the short name of a built-in form; choose another"),
            ),
        )
    return {"definition": definition, "located": located, "fields_invalid": False}


def _preview(definition: dict[str, Any] | None, language: str) -> dict[str, Any]:
    """What a client would see, drawn by the portal's own template; None while unusable."""
    if definition is None:
        return {}
    if language not in definition["languages"]:
        language = definition["default_language"]
    instrument = Instrument(definition=definition, title="", key=definition["key"])
    try:
        # Drawn while problems remain (a missing translation falls back to the main
        # language); only a part too broken to draw leaves the preview empty.
        return {
            "language": language,
            "intro": {
                field: instrument.text(field, language)
                for field in ("title", "description", "instructions")
            },
            "items": form_items(instrument, {}, language, {}),
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}


def _fragments(request: HttpRequest, checked: dict[str, Any], language: str) -> dict[str, str]:
    context = {**checked, "preview": _preview(checked["definition"], language)}
    return {
        "problems": render_to_string(
            "assessments/includes/builder_problems.html", context, request=request
        ),
        "preview": render_to_string(
            "assessments/includes/builder_preview.html", context, request=request
        ),
    }


@never_cache
@staff_view()
def instrument_builder(
    request: PracticeRequest, practice_slug: str, instrument_id: str | None = None
) -> HttpResponse:
    """Build a form, or change one: a draft is edited in place, anything else gets a new version."""
    membership = request.membership
    require(membership, Can.MANAGE_INSTRUMENTS)
    practice = request.practice
    source = None
    if instrument_id is not None:
        source = get_or_404(Instrument.objects.filter(practice=practice), uuid=instrument_id)
    language = request.POST.get("preview_language") or request.LANGUAGE_CODE
    checked: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "check")
        add = action.removeprefix("add-") if action.startswith("add-") else ""
        builder = bld.Builder.from_post(request.POST, add=add)
        if not add:
            checked = _check(builder, practice)
            ok = checked["definition"] is not None and not checked["located"]
            if action == "save" and ok:
                try:
                    instrument = instrument_services.upload(
                        practice=practice,
                        actor=request.user,
                        definition=checked["definition"],
                        request=request,
                        action="instrument.build",
                    )
                except defn.DefinitionError as exc:
                    checked["located"] = bld.locate(exc.problems, {})
                else:
                    messages.success(
                        request, _("Saved as a draft. Check the preview, then publish.")
                    )
                    return redirect(
                        "instrument_detail",
                        practice_slug=practice_slug,
                        instrument_id=instrument.uuid,
                    )
            if not ok:
                status = 400
    elif source is not None:
        builder = bld.Builder.from_definition(source.definition)
        checked = {"definition": source.definition, "located": [], "fields_invalid": False}
    else:
        builder = bld.Builder.from_definition(bld.starter_definition(practice.name))
    if checked is None:
        checked = {"definition": None, "located": [], "fields_invalid": False, "unchecked": True}
    return render(
        request,
        "assessments/instrument_builder.html",
        {
            "nav": "instruments",
            "builder": builder,
            "source": source,
            "language_choices": settings.LANGUAGES,
            "preview_language": language,
            **_fragments(request, checked, language),
        },
        status=status,
    )


@require_POST
@staff_view()
def instrument_builder_check(request: PracticeRequest, practice_slug: str) -> JsonResponse:
    """The live check: the same fields as the page, answered with its two fragments."""
    membership = request.membership
    require(membership, Can.MANAGE_INSTRUMENTS)
    builder = bld.Builder.from_post(request.POST)
    checked = _check(builder, request.practice)
    language = request.POST.get("preview_language") or request.LANGUAGE_CODE
    return JsonResponse(
        {"count": len(checked["located"]), **_fragments(request, checked, language)}
    )
