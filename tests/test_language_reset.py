"""Each test starts in the default language, whatever the test before it asked for.

Django's LocaleMiddleware activates a request's language in the thread and leaves it
active; tests/conftest.py resets it around every test. The second test below reads
the language the first one left behind, so it means something only when both ran in
the same process, one after the other; it skips otherwise (pytest-xdist may split them).
"""

from __future__ import annotations

import pytest
from django.utils.translation import get_language

_ran_here: list[str] = []


@pytest.mark.django_db
def test_a_request_in_spanish_switches_the_thread_to_spanish(client):
    client.cookies["django_language"] = "es"
    response = client.get("/portal/sign-in/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.headers["Content-Language"] == "es"
    assert get_language() == "es"  # what the next test must not inherit
    _ran_here.append("es")


def test_the_next_test_starts_in_english():
    if not _ran_here:
        pytest.skip("the Spanish request ran in another process")
    assert get_language() == "en"
