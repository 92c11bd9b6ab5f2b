"""The owner's page that erases the whole practice, after its name is typed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from practice import two_factor
from practice.erasure import erase_practice
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require


class ConfirmForm(forms.Form):
    confirmation = forms.CharField(
        label=gettext_lazy("Type the practice's name to confirm"), max_length=200
    )


@never_cache
@staff_view()
def practice_erase(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Erase everything the practice holds. Owners only; the audit trail keeps ids."""
    require(request.membership, Can.MANAGE_DATA)
    practice = request.practice
    # Erasing is the most final settings change there is: it needs a fresh code too.
    step_up = two_factor.step_up(request)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not step_up.needed:
        try:
            erase_practice(
                practice,
                actor=request.user,
                confirmation=form.cleaned_data["confirmation"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error("confirmation", exc.message_dict["confirmation"][0])
        else:
            logout(request)
            messages.success(request, _("The practice and everything it held were erased."))
            return redirect("login")
    return render(
        request,
        "practice/erase.html",
        {"form": form, "nav": "settings", "step_up": step_up},
        status=400 if step_up.error else 200,
    )
