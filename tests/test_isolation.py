"""The cross-tenant matrix: every route, generated from the URLconf.

A member of practice B must get 404 for practice A's pages and objects,
exactly as if they did not exist, and an anonymous visitor must be sent to
sign in. A positive control (A's owner reaching the same URL) proves that the
URLs are real, so a 404 for B means "hidden", not "mistyped".
"""

from __future__ import annotations

import pytest

from tests.conftest import signed_in
from tests.isolation import routes

# Routes outside any practice that anyone (or any signed-in user) may reach.
PUBLIC = {
    "",
    "practices/",
    "healthz",
    "accounts/sign-in/",
    "accounts/sign-out/",
    "accounts/password-reset/",
    "accounts/password-reset/sent/",
    "accounts/password-reset/<uidb64>/<token>/",
    "accounts/password-reset/complete/",
}
TENANT_PREFIX = "p/<slug:practice_slug>/"


def tenant_routes():
    return [r for r in routes() if r.template.startswith(TENANT_PREFIX)]


def values_for(world, practice):
    """URL arguments naming practice A's objects, under the given practice's slug."""
    return {"practice_slug": practice.slug}


def test_every_route_is_classified():
    unclassified = [
        r.template
        for r in routes()
        if not r.template.startswith(TENANT_PREFIX)
        and r.template not in PUBLIC
        and not r.template.startswith("admin/")  # superusers only: tests/test_admin.py
    ]
    assert unclassified == [], "classify these routes in tests/test_isolation.py"


def test_the_matrix_sees_routes():
    # A matrix over nothing would pass vacuously.
    assert len(tenant_routes()) >= 2


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.name or r.template)
def test_member_of_another_practice_gets_404(world, route):
    outsider = signed_in(world.b.owner)
    insider = signed_in(world.a.owner)
    foreign_url = route.url(values_for(world, world.a.practice))
    for method in route.methods():
        call = getattr(insider, method.lower())
        control = call(foreign_url)
        assert control.status_code != 404, f"{method} {foreign_url}: the control could not reach it"
        assert control.status_code < 500
        response = getattr(outsider, method.lower())(foreign_url)
        assert response.status_code == 404, f"{method} {foreign_url} -> {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.name or r.template)
def test_anonymous_visitor_is_sent_to_sign_in(client, world, route):
    url = route.url(values_for(world, world.a.practice))
    for method in route.methods():
        response = getattr(client, method.lower())(url)
        if url.startswith("/api/"):
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/sign-in/?next=")
