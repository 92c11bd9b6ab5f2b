"""The form builder: owner-facing forms that read and write an instrument definition.

The builder writes exactly the JSON an upload carries (``assessments/definition.py``
judges both), so everything the builder makes can be downloaded, versioned and
published like an uploaded file. Each part of a definition is one formset of flat
rows (answer options name their answer set, bands name their scale), which keeps
the page usable with a keyboard and a screen reader and working without script.
Every problem the definition check finds is mapped back to the row and field it
came from, so the page can list them all at once with a link to each place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from assessments import definition as defn

# The interface's languages; a form may declare any of them.
LANGUAGES = [code for code, _name in settings.LANGUAGES]
MAX_ROWS = 200
# Fields of the definition the builder does not edit itself; they travel unchanged.
META_EXTRA = ("alerts", "norms", "fhir", "validated")
ITEM_EXTRA = ("help", "codes", "enable_when", "min_label", "max_label", "max_length", "private")

ITEM_TYPES = [
    ("ordinal", gettext_lazy("Choice scale (ordered answers)")),
    ("choice", gettext_lazy("Single choice (unordered)")),
    ("rating", gettext_lazy("Rating from 1 to 10")),
    ("number", gettext_lazy("Number")),
    ("yes_no", gettext_lazy("Yes or no")),
    ("text", gettext_lazy("Free text (never scored)")),
]
DIRECTIONS = [
    ("higher_is_better", gettext_lazy("Higher is better")),
    ("higher_is_worse", gettext_lazy("Higher is worse")),
]
METHODS = [
    ("sum", gettext_lazy("Sum (prorated for missing answers)")),
    ("mean", gettext_lazy("Mean of the answered items")),
]


def _language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def add_text_fields(
    form: forms.BaseForm, name: str, label: Any, *, max_length: int = 4000, textarea: bool = False
) -> None:
    """One field per language, e.g. ``text_en``, ``text_es``, ``text_ru``, side by side."""
    for code in LANGUAGES:
        widget = forms.Textarea(attrs={"rows": 2}) if textarea else forms.TextInput()
        widget.attrs["lang"] = code
        form.fields[f"{name}_{code}"] = forms.CharField(
            label=f"{label} ({_language_name(code)})",
            max_length=max_length,
            required=False,
            widget=widget,
        )


def text_value(data: Mapping[str, Any], name: str, languages: Iterable[str]) -> dict[str, str]:
    """The per-language text object from cleaned data; missing languages are left out."""
    return {
        code: data[f"{name}_{code}"].strip() for code in languages if data.get(f"{name}_{code}")
    }


def text_initial(text: Mapping[str, str] | None, name: str) -> dict[str, str]:
    return {f"{name}_{code}": (text or {}).get(code, "") for code in LANGUAGES}


class JSONExtraField(forms.CharField):
    """Definition parts the builder carries but does not edit, as a hidden JSON object."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, max_length=defn.MAX_DEFINITION_BYTES, **kwargs)

    def clean(self, value: Any) -> dict[str, Any]:
        value = super().clean(value)
        if not value:
            return {}
        try:
            loaded = json.loads(value)
        except ValueError:
            raise forms.ValidationError(
                _("This part of the form was damaged; reload it.")
            ) from None
        if not isinstance(loaded, dict):
            raise forms.ValidationError(_("This part of the form was damaged; reload it."))
        return loaded


def _extra_initial(source: Mapping[str, Any], keys: Iterable[str]) -> str:
    kept = {key: source[key] for key in keys if key in source}
    return json.dumps(kept, ensure_ascii=False) if kept else ""


class AboutForm(forms.Form):
    """The form as a whole: what it is called, its languages and where it comes from."""

    key = forms.SlugField(
        label=gettext_lazy("Short name (used in links and exports)"),
        max_length=63,
        help_text=gettext_lazy("Lower-case letters, digits and hyphens, e.g. session-check-in."),
    )
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages clients can answer in"),
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
    )
    default_language = forms.ChoiceField(
        label=gettext_lazy("Main language"), choices=settings.LANGUAGES
    )
    estimated_minutes = forms.IntegerField(
        label=gettext_lazy("Minutes it takes"), min_value=1, max_value=120
    )
    direction = forms.ChoiceField(label=gettext_lazy("Scores"), choices=DIRECTIONS)
    private = forms.BooleanField(
        label=gettext_lazy("Private: never shown to the other partner or in couple reports"),
        required=False,
    )
    citation = forms.CharField(
        label=gettext_lazy("Source"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Who wrote it and on what it is based."),
    )
    licence = forms.CharField(label=gettext_lazy("Licence"), max_length=200)
    extra = JSONExtraField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_text_fields(self, "title", _("Title"), max_length=200)
        add_text_fields(self, "description", _("Description"), textarea=True)
        add_text_fields(self, "instructions", _("Instructions (optional)"), textarea=True)


class OptionForm(forms.Form):
    """One answer of an answer set; rows with the same set name make up one set."""

    answer_set = forms.SlugField(
        label=gettext_lazy("Answer set"),
        max_length=41,
        help_text=gettext_lazy("Rows with the same name form one set."),
    )
    value = forms.FloatField(label=gettext_lazy("Value"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_text_fields(self, "label", _("Answer"), max_length=400)


class SectionForm(forms.Form):
    link_id = forms.SlugField(label=gettext_lazy("Section id"), max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_text_fields(self, "text", _("Heading"), max_length=400)


class ItemForm(forms.Form):
    link_id = forms.RegexField(
        label=gettext_lazy("Item id"),
        regex=r"^[A-Za-z0-9/][A-Za-z0-9_./:-]{0,99}$",
        max_length=100,
        error_messages={"invalid": gettext_lazy("Letters, digits, and . _ - / : only.")},
    )
    type = forms.ChoiceField(label=gettext_lazy("Kind of answer"), choices=ITEM_TYPES)
    answer_set = forms.SlugField(
        label=gettext_lazy("Answer set"),
        max_length=41,
        required=False,
        widget=forms.TextInput(attrs={"list": "answer-set-names"}),
    )
    section = forms.SlugField(
        label=gettext_lazy("Section"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"list": "section-names"}),
    )
    reverse = forms.BooleanField(label=gettext_lazy("Reverse keyed"), required=False)
    required = forms.BooleanField(label=gettext_lazy("Answer required"), required=False)
    minimum = forms.FloatField(label=gettext_lazy("Lowest number"), required=False)
    maximum = forms.FloatField(label=gettext_lazy("Highest number"), required=False)
    decimal = forms.BooleanField(label=gettext_lazy("Decimals allowed"), required=False)
    extra = JSONExtraField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_text_fields(self, "text", _("Question"), max_length=4000, textarea=True)


class ScaleForm(forms.Form):
    key = forms.RegexField(
        label=gettext_lazy("Scale id"),
        regex=r"^[a-z][a-z0-9_]{0,40}$",
        max_length=41,
        error_messages={"invalid": gettext_lazy("Lower-case letters, digits and _ only.")},
    )
    items = forms.CharField(
        label=gettext_lazy("Items (ids, separated by spaces or commas)"), max_length=4000
    )
    method = forms.ChoiceField(label=gettext_lazy("Score"), choices=METHODS)
    min_answered = forms.IntegerField(
        label=gettext_lazy("Least answered items for a score"), min_value=1, max_value=200
    )
    total = forms.BooleanField(label=gettext_lazy("The form's total"), required=False)
    direction = forms.ChoiceField(
        label=gettext_lazy("Direction"),
        choices=[("", pgettext_lazy("direction", "As the form")), *DIRECTIONS],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_text_fields(self, "label", _("Name"), max_length=200)


class BandForm(forms.Form):
    scale = forms.RegexField(
        label=gettext_lazy("Scale id"),
        regex=r"^[a-z][a-z0-9_]{0,40}$",
        max_length=41,
        widget=forms.TextInput(attrs={"list": "scale-names"}),
    )
    key = forms.RegexField(
        label=gettext_lazy("Band id"), regex=r"^[a-z][a-z0-9_]{0,40}$", max_length=41
    )
    minimum = forms.FloatField(label=gettext_lazy("From"))
    maximum = forms.FloatField(label=gettext_lazy("To"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_text_fields(self, "label", _("Label"), max_length=200)


def _formset(form: type[forms.Form]) -> Any:
    return formset_factory(
        form, extra=0, can_delete=True, max_num=MAX_ROWS, absolute_max=MAX_ROWS, validate_max=True
    )


PARTS: dict[str, type[forms.Form]] = {
    "options": OptionForm,
    "sections": SectionForm,
    "items": ItemForm,
    "scales": ScaleForm,
    "bands": BandForm,
}
FORMSETS = {prefix: _formset(form) for prefix, form in PARTS.items()}


@dataclass
class Builder:
    """The bound (or initial) forms of one builder page."""

    about: AboutForm
    parts: dict[str, Any]

    @classmethod
    def from_post(cls, posted: QueryDict, add: str = "") -> Builder:
        """Bind the POSTed rows; ``add`` names a part that gets one more empty row."""
        data = posted.copy()
        initial: dict[str, list[dict[str, Any]]] = {}
        if add in FORMSETS:
            total = f"{add}-TOTAL_FORMS"
            try:
                count = min(int(data.get(total, 0)), MAX_ROWS - 1)
            except ValueError:
                count = 0
            data[total] = str(count + 1)
            fresh: dict[str, Any] = {}
            if add == "items":
                # A new item is required and takes the latest answer set unless changed.
                fresh["required"] = True
                for index in range(count - 1, -1, -1):
                    if data.get(f"items-{index}-answer_set"):
                        fresh["answer_set"] = data[f"items-{index}-answer_set"]
                        break
            for name, value in fresh.items():
                data[f"{add}-{count}-{name}"] = "on" if value is True else value
            # The same values as the row's initial: an untouched new row is not judged
            # (and shows no errors) until the owner types in it.
            initial[add] = [{} for _ in range(count)] + [fresh]
        builder = cls(
            about=AboutForm(data),
            parts={
                prefix: formset(data, prefix=prefix, initial=initial.get(prefix))
                for prefix, formset in FORMSETS.items()
            },
        )
        if add in FORMSETS:
            # The page comes back with the new row's first field focused (and so in
            # view), ready for typing; plain HTML, no script needed.
            row = builder.parts[add].forms[-1]
            first = next(f for f in row.fields.values() if not f.widget.is_hidden)
            first.widget.attrs["autofocus"] = True
        return builder

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> Builder:
        initial = initial_from_definition(definition)
        return cls(
            about=AboutForm(initial=initial["about"]),
            parts={
                prefix: formset(initial=initial[prefix], prefix=prefix)
                for prefix, formset in FORMSETS.items()
            },
        )

    def is_valid(self) -> bool:
        # Every form is checked (no short circuit), so all field errors show at once.
        results = [self.about.is_valid()] + [fs.is_valid() for fs in self.parts.values()]
        return all(results)

    def names(self, part: str, field: str) -> list[str]:
        """The names typed so far in one column (answer sets, sections, scales), for
        the suggestions offered where other rows refer to them."""
        values = (form[field].value() for form in self.parts[part].forms)
        return sorted({str(v) for v in values if v})

    @property
    def suggestions(self) -> dict[str, list[str]]:
        return {
            "answer-set-names": self.names("options", "answer_set"),
            "section-names": self.names("sections", "link_id"),
            "scale-names": self.names("scales", "key"),
        }

    def field_problems(self) -> list[Located]:
        """Every field error of the bound forms, with the row it is in (after is_valid)."""
        found = [
            Located(_("About the form"), _error_id(self.about, name), "", str(error))
            for name, errors in self.about.errors.items()
            for error in errors
        ]
        for prefix, formset in self.parts.items():
            for error in formset.non_form_errors():
                found.append(Located(str(PART_LABELS[prefix]), "", "", str(error)))
            for index, form in enumerate(formset.forms):
                for name, errors in form.errors.items():
                    for error in errors:
                        label = str(ROW_LABELS[prefix]) % {"n": index + 1}
                        found.append(Located(label, _error_id(form, name), "", str(error)))
        return found


def _error_id(form: forms.BaseForm, name: str) -> str:
    if name == "__all__" or name not in form.fields:
        return ""
    return form[name].auto_id or ""


PART_LABELS = {
    "options": gettext_lazy("Answer sets"),
    "sections": gettext_lazy("Sections"),
    "items": gettext_lazy("Items"),
    "scales": gettext_lazy("Scales"),
    "bands": gettext_lazy("Bands"),
}
ROW_LABELS = {
    "options": gettext_lazy("Answer %(n)d"),
    "sections": gettext_lazy("Section %(n)d"),
    "items": gettext_lazy("Item %(n)d"),
    "scales": gettext_lazy("Scale %(n)d"),
    "bands": gettext_lazy("Band %(n)d"),
}


@dataclass(frozen=True)
class Place:
    """Where in the builder a part of the definition came from."""

    label: str
    prefix: str  # the form's prefix, e.g. "items-3"; "" for the About form


def _rows(formset: Any) -> list[tuple[int, dict[str, Any]]]:
    """The kept, filled rows of a valid formset, in page order, with their form index."""
    rows = []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rows.append((index, data))
    return rows


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def _split_ids(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", value) if part]


def build_definition(builder: Builder, *, version: int) -> tuple[dict[str, Any], dict[str, Place]]:
    """The definition the valid forms describe, and where each part of it came from.

    The places map a definition path prefix (``items[2]``, ``answer_sets.agree5[1]``,
    ``scales[0].bands[1]``) to the row that made it.
    """
    about = builder.about.cleaned_data
    languages = [code for code in LANGUAGES if code in about["languages"]]
    places: dict[str, Place] = {}
    definition: dict[str, Any] = {
        "key": about["key"],
        "version": version,
        "default_language": about["default_language"],
        "languages": languages,
        "title": text_value(about, "title", languages),
        "description": text_value(about, "description", languages),
        "estimated_minutes": about["estimated_minutes"],
        "direction": about["direction"],
        "practice_authored": True,
        "validated": False,
        "citation": about["citation"],
        "licence": about["licence"],
    }
    instructions = text_value(about, "instructions", languages)
    if instructions:
        definition["instructions"] = instructions
    if about["private"]:
        definition["private"] = True
    extra = about["extra"]
    for key in META_EXTRA:
        if key in extra:
            definition[key] = extra[key]

    answer_sets: dict[str, list[dict[str, Any]]] = {}
    for index, row in _rows(builder.parts["options"]):
        options = answer_sets.setdefault(row["answer_set"], [])
        places[f"answer_sets.{row['answer_set']}[{len(options)}]"] = Place(
            _("Answer set %(name)s, answer %(n)d") % {"name": row["answer_set"], "n": index + 1},
            f"options-{index}",
        )
        options.append(
            {"value": _number(row["value"]), "label": text_value(row, "label", languages)}
        )
    if answer_sets:
        definition["answer_sets"] = answer_sets

    groups: list[dict[str, Any]] = []
    for index, row in _rows(builder.parts["sections"]):
        places[f"groups[{len(groups)}]"] = Place(
            _("Section %(n)d (%(id)s)") % {"n": index + 1, "id": row["link_id"]},
            f"sections-{index}",
        )
        groups.append({"link_id": row["link_id"], "text": text_value(row, "text", languages)})
    if groups:
        definition["groups"] = groups

    items: list[dict[str, Any]] = []
    for index, row in _rows(builder.parts["items"]):
        places[f"items[{len(items)}]"] = Place(
            _("Item %(n)d (%(id)s)") % {"n": index + 1, "id": row["link_id"]}, f"items-{index}"
        )
        item: dict[str, Any] = {
            "link_id": row["link_id"],
            "type": row["type"],
            "text": text_value(row, "text", languages),
        }
        # Fields that do not apply to the kind of answer are hidden on the page and
        # ignored here, so changing an item's kind never leaves a stale field behind.
        kind = row["type"]
        if kind in {"ordinal", "choice"}:
            item["answer_set"] = row["answer_set"]
        if row["section"]:
            item["group"] = row["section"]
        if row["reverse"] and kind != "text":
            item["reverse"] = True
        if not row["required"]:
            item["required"] = False
        if kind == "number":
            # A missing bound is left out, and the check names it.
            for bound, field in (("min", "minimum"), ("max", "maximum")):
                if row[field] is not None:
                    item[bound] = _number(row[field])
            if row["decimal"]:
                item["decimal"] = True
        for key in ITEM_EXTRA:
            if key in row["extra"]:
                item[key] = row["extra"][key]
        items.append(item)
    definition["items"] = items

    scales: list[dict[str, Any]] = []
    scale_index: dict[str, int] = {}
    for index, row in _rows(builder.parts["scales"]):
        places[f"scales[{len(scales)}]"] = Place(
            _("Scale %(n)d (%(id)s)") % {"n": index + 1, "id": row["key"]}, f"scales-{index}"
        )
        scale: dict[str, Any] = {
            "key": row["key"],
            "label": text_value(row, "label", languages),
            "items": _split_ids(row["items"]),
            "method": row["method"],
            "min_answered": row["min_answered"],
        }
        if row["total"]:
            scale["total"] = True
        if row["direction"]:
            scale["direction"] = row["direction"]
        scale_index.setdefault(row["key"], len(scales))
        scales.append(scale)
    definition["scales"] = scales

    unplaced = []
    for index, row in _rows(builder.parts["bands"]):
        band = {
            "key": row["key"],
            "min": _number(row["minimum"]),
            "max": _number(row["maximum"]),
            "label": text_value(row, "label", languages),
        }
        place = Place(
            _("Band %(n)d (%(id)s of %(scale)s)")
            % {"n": index + 1, "id": row["key"], "scale": row["scale"]},
            f"bands-{index}",
        )
        target = scale_index.get(row["scale"])
        if target is None:
            unplaced.append(place)
            continue
        bands = scales[target].setdefault("bands", [])
        places[f"scales[{target}].bands[{len(bands)}]"] = place
        bands.append(band)
    for place in unplaced:
        # Not part of the definition at all, so the check cannot see it: say so here.
        places[f"!{place.prefix}"] = place
    return definition, places


@dataclass(frozen=True)
class Located:
    """A problem, said where the owner can find it."""

    where: str
    field_id: str  # the input to jump to, or ""
    path: str
    message: str


# Definition field names that are builder fields under another name.
_FIELD_NAMES = {"group": "section", "min": "minimum", "max": "maximum", "label": "label"}


def locate(problems: Iterable[defn.Problem], places: Mapping[str, Place]) -> list[Located]:
    """Map each problem's path to the builder row and, where possible, its field."""
    found = []
    for key, place in places.items():
        if key.startswith("!"):
            found.append(
                Located(
                    place.label,
                    f"id_{place.prefix}-scale",
                    "",
                    _("names a scale that is not in the form"),
                )
            )
    prefixes = sorted((p for p in places if not p.startswith("!")), key=len, reverse=True)
    for problem in problems:
        path = problem.path
        matched = next(
            (p for p in prefixes if path == p or path.startswith((p + ".", p + "["))), None
        )
        if matched is None:
            field = _about_field(path)
            found.append(
                Located(_part_label(path), f"id_{field}" if field else "", path, problem.message)
            )
            continue
        place = places[matched]
        rest = path[len(matched) :].lstrip(".")
        found.append(Located(place.label, _field_id(place.prefix, rest), path, problem.message))
    return found


def _part_label(path: str) -> str:
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    if head == "answer_sets":
        name = path.split(".", 1)[1].split("[", 1)[0] if "." in path else ""
        return _("Answer set %(name)s") % {"name": name} if name else _("Answer sets")
    labels = {"items": _("Items"), "scales": _("Scales"), "groups": _("Sections")}
    return str(labels.get(head, _("About the form")))


def _about_field(path: str) -> str:
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    match = re.match(r"^(title|description|instructions)\.([a-z]{2})", path)
    if match and match.group(2) in LANGUAGES:
        return f"{match.group(1)}_{match.group(2)}"
    if head in {"key", "default_language", "estimated_minutes", "direction", "citation", "licence"}:
        return head
    if head == "languages":
        return "languages_0"
    return ""


def _field_id(prefix: str, rest: str) -> str:
    """The input id for what is left of a path inside one row (``text.es`` → ``text_es``)."""
    match = re.match(r"^(text|label)\.([a-z]{2})", rest)
    if match and match.group(2) in LANGUAGES:
        return f"id_{prefix}-{match.group(1)}_{match.group(2)}"
    head = re.split(r"[.\[]", rest, maxsplit=1)[0]
    if prefix.startswith("scales") and head == "bands":
        return ""
    name = _FIELD_NAMES.get(head, head)
    if name in {"link_id", "key", "type", "answer_set", "section", "reverse", "private", "value"}:
        return f"id_{prefix}-{name}"
    if name in {"minimum", "maximum", "items", "min_answered", "method", "total", "direction"}:
        return f"id_{prefix}-{name}"
    return ""


def initial_from_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Initial data for every builder form from a definition (to edit or version it)."""
    about: dict[str, Any] = {
        "key": definition["key"],
        "languages": list(definition["languages"]),
        "default_language": definition["default_language"],
        "estimated_minutes": definition["estimated_minutes"],
        "direction": definition["direction"],
        "private": bool(definition.get("private")),
        "citation": definition["citation"],
        "licence": definition["licence"],
        "extra": _extra_initial(definition, META_EXTRA),
    }
    for name in ("title", "description", "instructions"):
        about.update(text_initial(definition.get(name), name))
    options = []
    answer_sets = dict(definition.get("answer_sets", {}))
    items = []
    for item in definition["items"]:
        answer_set = item.get("answer_set", "")
        if "options" in item:
            # Inline options become a set of their own, named after the item.
            answer_set = _free_name(
                answer_sets, re.sub(r"[^a-z0-9_-]", "_", item["link_id"].lower())
            )
            answer_sets[answer_set] = item["options"]
        row = {
            "link_id": item["link_id"],
            "type": item["type"],
            "answer_set": answer_set,
            "section": item.get("group", ""),
            "reverse": bool(item.get("reverse")),
            "required": item.get("required", True),
            "minimum": item.get("min"),
            "maximum": item.get("max"),
            "decimal": bool(item.get("decimal")),
            "extra": _extra_initial(item, ITEM_EXTRA),
        }
        row.update(text_initial(item["text"], "text"))
        items.append(row)
    for name, set_options in answer_sets.items():
        for option in set_options:
            row = {"answer_set": name, "value": option["value"]}
            row.update(text_initial(option["label"], "label"))
            options.append(row)
    sections = []
    for group in definition.get("groups", []):
        row = {"link_id": group["link_id"]}
        row.update(text_initial(group["text"], "text"))
        sections.append(row)
    scales = []
    bands = []
    for scale in definition["scales"]:
        row = {
            "key": scale["key"],
            "items": " ".join(scale["items"]),
            "method": scale["method"],
            "min_answered": scale["min_answered"],
            "total": bool(scale.get("total")),
            "direction": scale.get("direction", ""),
        }
        row.update(text_initial(scale["label"], "label"))
        scales.append(row)
        for band in scale.get("bands", []):
            band_row = {
                "scale": scale["key"],
                "key": band["key"],
                "minimum": band["min"],
                "maximum": band["max"],
            }
            band_row.update(text_initial(band["label"], "label"))
            bands.append(band_row)
    return {
        "about": about,
        "options": options,
        "sections": sections,
        "items": items,
        "scales": scales,
        "bands": bands,
    }


def _free_name(taken: Mapping[str, Any], base: str) -> str:
    base = ("s" + base if not base[:1].isalpha() else base)[:36]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def starter_definition(practice_name: str) -> dict[str, Any]:
    """What a new form starts from: one agree–disagree answer set and one item.

    Not valid yet on purpose (its scale needs the owner's items), but close enough that
    the owner starts by writing questions rather than filling in boilerplate.
    """
    agree = [
        (1, "Strongly disagree", "Muy en desacuerdo", "Совсем не согласен(-на)"),
        (2, "Disagree", "En desacuerdo", "Скорее не согласен(-на)"),
        (3, "Neither agree nor disagree", "Ni de acuerdo ni en desacuerdo", "И да, и нет"),
        (4, "Agree", "De acuerdo", "Скорее согласен(-на)"),
        (5, "Strongly agree", "Muy de acuerdo", "Полностью согласен(-на)"),
    ]
    return {
        "key": "",
        "languages": LANGUAGES,
        "default_language": "en",
        "title": {},
        "description": {},
        "estimated_minutes": 5,
        "direction": "higher_is_better",
        "citation": _("Written by %(practice)s for its own clients; not a validated measure.")
        % {"practice": practice_name},
        "licence": _("For use within %(practice)s") % {"practice": practice_name},
        "answer_sets": {
            "agree5": [
                {"value": value, "label": {"en": en, "es": es, "ru": ru}}
                for value, en, es, ru in agree
            ]
        },
        "items": [{"link_id": "q1", "type": "ordinal", "answer_set": "agree5", "text": {}}],
        "scales": [
            {
                "key": "total",
                "label": {"en": "Total", "es": "Total", "ru": "Итог"},
                "items": ["q1"],
                "method": "mean",
                "min_answered": 1,
                "total": True,
            }
        ],
    }
