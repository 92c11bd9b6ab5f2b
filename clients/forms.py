"""Forms for couples and partners."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from clients.models import CoupleStatus, Partner
from practice.models import Membership, Practice, Role

User = get_user_model()


def clinician_choices(practice: Practice) -> Any:
    """Members who can hold a caseload: owners and clinicians of this practice."""
    return User.objects.filter(
        memberships__in=Membership.objects.filter(role__in=[Role.OWNER, Role.CLINICIAN])
    ).order_by("full_name")


class ClinicianField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.full_name


class CoupleForm(forms.Form):
    label = forms.CharField(
        label=_("Label"),
        max_length=120,
        help_text=_("How the couple appears on your caseload, e.g. “Rivera & Chen”."),
    )
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    status = forms.ChoiceField(label=_("Status"), choices=CoupleStatus.choices)
    clinicians = ClinicianField(
        queryset=User.objects.none(),
        label=_("Clinicians"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Clinicians see only the couples they are assigned to."),
    )
    monthly_report = forms.BooleanField(
        label=_("Monthly clinician report"),
        required=False,
        help_text=_("On the first of each month, a clinician report of the month before."),
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinicians"].queryset = clinician_choices(practice)  # type: ignore[attr-defined]


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ["display_name", "email", "phone", "language"]
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        labels = {"display_name": _("Name")}
        help_texts = {"display_name": _("As the partner likes to be addressed in emails.")}

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class NewCoupleForm(CoupleForm):
    """The couple fields; the two partners come as prefixed PartnerForms."""

    status = forms.ChoiceField(
        label=_("Status"), choices=CoupleStatus.choices, initial=CoupleStatus.ACTIVE
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("New note"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Private to clinicians of this couple and owners. Never shown to clients."),
    )
