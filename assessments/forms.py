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


class AssignForm(forms.Form):
    instrument = InstrumentChoiceField(queryset=Instrument.objects.none(), label=_("Form"))
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
