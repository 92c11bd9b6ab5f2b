"""Staff forms of the assessment engine."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessments import definition as defn
from assessments.models import Instrument, RepeatUnit
from assessments.services.assignments import Recurrence
from clients.models import Couple

MAX_DEFINITION_BYTES = defn.MAX_DEFINITION_BYTES


class InstrumentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        minutes = obj.definition.get("estimated_minutes", 0)
        return str(
            _("%(title)s (about %(minutes)d min)") % {"title": obj.title, "minutes": minutes}
        )


class InstrumentsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return InstrumentChoiceField.label_from_instance(self, obj)  # type: ignore[arg-type]


class AssignForm(forms.Form):
    # Several at once: each becomes its own assignment on the same schedule.
    instrument = InstrumentsChoiceField(
        queryset=Instrument.objects.none(),
        label=_("Forms"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one form.")},
    )
    who = forms.ChoiceField(label=_("Who answers"))
    first_due = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    repeat = forms.BooleanField(label=_("Repeat"), required=False)
    repeat_every = forms.IntegerField(label=_("Every"), min_value=1, max_value=52, required=False)
    repeat_unit = forms.ChoiceField(
        label=_("Unit"), choices=RepeatUnit.choices, initial=RepeatUnit.WEEKS, required=False
    )
    repeat_until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    repeat_count = forms.IntegerField(
        label=_("Or this many times"), min_value=2, max_value=104, required=False
    )
    reminders = forms.BooleanField(
        label=_("Email reminders (the day before it is due, then while overdue)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, couple: Couple, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.couple = couple
        self.fields["instrument"].queryset = Instrument.objects.published().order_by("title")  # type: ignore[attr-defined]
        partners = list(couple.partners.order_by("position"))
        self.partners = {str(p.uuid): p for p in partners}
        self.fields["who"].choices = [("both", _("Both partners"))] + [  # type: ignore[attr-defined]
            (str(p.uuid), p.display_name) for p in partners
        ]
        self.fields["first_due"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("repeat"):  # type: ignore[union-attr]
            if not data.get("repeat_every"):  # type: ignore[union-attr]
                self.add_error("repeat_every", _("How often should it repeat?"))
            if not data.get("repeat_until") and not data.get("repeat_count"):  # type: ignore[union-attr]
                self.add_error("repeat_until", _("Say when the repeats end: a date or a number."))
        return data  # type: ignore[return-value]

    @property
    def partner(self) -> Any:
        who = self.cleaned_data.get("who")
        return None if who == "both" else self.partners.get(who)  # type: ignore[arg-type]

    @property
    def recurrence(self) -> Recurrence | None:
        data = self.cleaned_data
        if not data.get("repeat"):
            return None
        return Recurrence(
            every=data["repeat_every"],
            unit=data.get("repeat_unit") or RepeatUnit.WEEKS,
            until=data.get("repeat_until"),
            count=data.get("repeat_count"),
        )


class ResolveAlertForm(forms.Form):
    note = forms.CharField(
        label=_("What was done"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the alert for the record. Not shown to clients."),
    )


class UploadInstrumentForm(forms.Form):
    definition = forms.FileField(
        label=_("Definition file (JSON)"),
        help_text=_("The format is described in docs/instruments.md. Maximum 512 KB."),
    )

    def clean_definition(self) -> Any:
        upload = self.cleaned_data["definition"]
        if upload.size > MAX_DEFINITION_BYTES:
            raise forms.ValidationError(_("The file is larger than 512 KB."))
        try:
            return defn.parse(upload.read())
        except defn.DefinitionError as exc:
            raise forms.ValidationError(
                _("The file is not a usable definition: %(error)s") % {"error": exc}
            ) from None


class ProtocolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("What it is for (optional)"), max_length=500, required=False
    )


class ProtocolStepForm(forms.Form):
    """One form of a protocol and when it is asked."""

    instrument = forms.ChoiceField(label=_("Form"))
    start_after = forms.IntegerField(label=_("Starts after"), min_value=0, max_value=104, initial=0)
    start_unit = forms.ChoiceField(
        label=_("Unit"), choices=RepeatUnit.choices, initial=RepeatUnit.WEEKS
    )
    every = forms.IntegerField(
        label=_("Repeats every (empty: once)"), min_value=1, max_value=52, required=False
    )
    unit = forms.ChoiceField(
        label=_("Repeat unit"), choices=RepeatUnit.choices, initial=RepeatUnit.WEEKS
    )
    count = forms.IntegerField(label=_("Times in all"), min_value=2, max_value=104, required=False)

    def __init__(self, *args: Any, instruments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = instruments  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("every") and not data.get("count"):
            self.add_error("count", _("Say how many times in all (at least 2)."))
        if data.get("count") and not data.get("every"):
            self.add_error("every", _("Say how often it repeats."))
        return data

    def step(self) -> dict[str, Any]:
        data = self.cleaned_data
        step: dict[str, Any] = {
            "instrument": data["instrument"],
            "start_after": data["start_after"],
            "start_unit": data["start_unit"],
            "every": data.get("every"),
            "unit": data["unit"],
            "count": data.get("count") if data.get("every") else None,
        }
        return step


class BaseStepFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise forms.ValidationError(_("A protocol needs at least one form."))


StepFormSet = forms.formset_factory(
    ProtocolStepForm,
    formset=BaseStepFormSet,
    extra=0,
    can_delete=True,
    max_num=20,
    absolute_max=20,
    validate_max=True,
)


class ApplyProtocolForm(forms.Form):
    protocol: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,
        label=_("Protocol"),
        empty_label=_("Choose a protocol"),
    )
    start = forms.DateField(label=_("Starting on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from assessments.models import Protocol

        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = Protocol.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["start"].initial = timezone.localdate()
