"""The page that erases a couple (owners), after the couple's label is typed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from clients.access import get_couple
from clients.erasure import erase_couple
from practice import audit
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can


class ConfirmForm(forms.Form):
    confirmation = forms.CharField(
        label=gettext_lazy("Type the couple's label to confirm"), max_length=200
    )


@never_cache
@staff_view(Can.MANAGE_DATA)
def couple_erase(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    """Everything about one couple, gone for good; the audit trail keeps the fact and ids."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erase_couple(
                couple,
                actor=request.user,
                confirmation=form.cleaned_data["confirmation"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error("confirmation", exc.message_dict["confirmation"][0])
        else:
            messages.success(request, _("The couple and all their data were erased."))
            return redirect("caseload", practice_slug=practice_slug)
    if request.method == "GET":
        audit.record("couple.view", request=request, target=couple, page="erase")
    return render(
        request, "clients/couple_erase.html", {"couple": couple, "form": form, "nav": "caseload"}
    )
