"""Asking for reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models import ReportKind


class ReportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Version"),
        choices=ReportKind.choices,
        initial=ReportKind.CLINICIAN,
        help_text=_(
            "The couple version shows couple-level results only: no answers, no private "
            "items, no safety content."
        ),
    )
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="en")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["period_end"].initial = today
        self.fields["period_start"].initial = today - timedelta(days=91)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")  # type: ignore[union-attr]
        if start and end and end < start:
            self.add_error("period_end", _("The end of the period is before its start."))
        return data  # type: ignore[return-value]
