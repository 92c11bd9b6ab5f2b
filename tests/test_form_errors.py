"""practice.forms: the one way a service's ValidationError reaches a form, and a form's
errors reach the next page as messages."""

from __future__ import annotations

from django import forms
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from practice.forms import add_service_errors, flash_form_errors


class NameForm(forms.Form):
    name = forms.CharField()


def test_service_errors_land_on_the_field_they_name_or_above_the_form():
    form = NameForm({"name": "Quill"})
    assert form.is_valid()
    add_service_errors(
        form, ValidationError({"name": ["Taken."], "column_not_on_form": ["Too late."]})
    )
    assert form.errors == {"name": ["Taken."], "__all__": ["Too late."]}


def test_a_service_error_without_fields_goes_above_the_form():
    form = NameForm({"name": "Quill"})
    form.is_valid()
    add_service_errors(form, ValidationError(["First.", "Second."]))
    assert form.non_field_errors() == ["First.", "Second."]
    assert "name" not in form.errors


def test_form_errors_become_messages_for_the_next_page():
    request = RequestFactory().post("/")
    request._messages = CookieStorage(request)
    form = NameForm({})
    form.is_valid()
    add_service_errors(form, ValidationError("Closed case."))
    flash_form_errors(request, form)
    assert [str(m) for m in request._messages] == ["This field is required.", "Closed case."]
