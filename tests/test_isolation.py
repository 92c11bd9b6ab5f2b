"""The cross-tenant matrix: every staff route, generated from the URLconf.

For each route under /p/<practice_slug>/ (pages and API alike):
- a member of practice B asking for practice A's URL gets 404;
- a member of practice B using B's own address with A's object ids gets 404;
- an anonymous visitor is sent to sign in (401 for the API);
- and a positive control, A's owner on the same URL, does not get 404, so a
  404 above means "hidden", not "mistyped".
Portal routes have their own matrix in tests/test_portal_isolation.py.
"""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from tests.conftest import Cases, World, make_staff, module_db
from tests.conftest import signed_in_quickly as signed_in
from tests.factories import case_file
from tests.isolation import routes

# Routes outside any practice that anyone (or any signed-in user) may reach.
PUBLIC = {
    "",
    "practices/",
    "healthz",
    "accounts/sign-in/",
    # Django's set_language: stores a language choice in a cookie (POST, CSRF-checked).
    "i18n/setlang/",
    "accounts/sign-out/",
    "accounts/password-reset/",
    "accounts/password-reset/sent/",
    "accounts/password-reset/<uidb64>/<token>/",
    "accounts/password-reset/complete/",
    # A colleague's invitation: the secret finds it; tests/test_settings.py covers misuse.
    "accounts/invitations/<str:token>/",
    "accounts/invitation/",
    # The signed-in (or half signed-in) user's own second factor: tests/test_two_factor.py.
    "accounts/two-factor/",
    "accounts/two-factor/setup/",
    "accounts/two-factor/recovery-codes/",
    # The caller's own memberships; tests/test_api.py checks a token sees only its practice.
    "api/v1/practices/",
    # The caller's own user and memberships; tests/test_api_strict.py checks a token sees
    # only its practice and a session never another person's.
    "api/v1/me/",
    # Short-lived signed download tokens (POSTed); tests/test_api.py checks expiry,
    # tampering, access.
    "api/v1/files/reports/",
}
TENANT_PREFIXES = ("p/<slug:practice_slug>/", "api/v1/p/<slug:practice_slug>/")
PORTAL_PREFIXES = ("portal/", "api/v1/portal/")


@pytest.fixture(scope="module")
def shared(module_data_root, django_db_blocker):
    """Both practices and their case files, built once for the whole matrix."""
    with module_db(django_db_blocker, module_data_root):
        world = World(a=make_staff("Alpha"), b=make_staff("Bravo"))
        cases = Cases(
            a=case_file(world.a.practice, world.a.clinician, world.a.owner),
            b=case_file(world.b.practice, world.b.clinician, world.b.owner),
        )
    return world, cases


@pytest.fixture
def private_root(module_data_root):
    return module_data_root


@pytest.fixture
def world(shared, db):
    return shared[0]


@pytest.fixture
def cases(shared, db):
    return shared[1]


def tenant_routes():
    return [r for r in routes() if r.template.startswith(TENANT_PREFIXES)]


def url_values(world, cases, practice_of_slug):
    """URL arguments naming practice A's objects, under the given practice's slug."""
    case = cases.a
    return {
        "practice_slug": practice_of_slug.slug,
        "couple_id": case.couple.uuid,
        "partner_id": case.partner_one.uuid,
        "occurrence_id": case.occurrence.uuid,
        "assignment_id": case.occurrence.assignment.uuid,
        "response_id": case.response.uuid,
        "alert_id": case.alert.uuid,
        "instrument_id": case.custom_instrument.uuid,
        "instrument_key": "connection-pulse",
        "membership_id": world.a.membership(world.a.clinician).uuid,
        "report_id": getattr(case, "report", None) and case.report.uuid,
        "batch_id": getattr(case, "batch", None) and case.batch.uuid,
        "token_id": getattr(case, "token", None) and case.token.uuid,
        "export_id": case.export.uuid,
        "invitation_id": case.invitation.uuid,
        "protocol_id": _protocol(world.a.practice).uuid,
    }


def _protocol(practice):
    """Practice A's protocol (made on first use; it holds no client data)."""
    from assessments.models import Protocol

    steps = [{"instrument": "connection-pulse", "start_after": 0, "start_unit": "weeks",
              "every": None, "unit": "weeks", "count": None}]  # fmt: skip
    with scopes_disabled():
        return Protocol.objects.get_or_create(
            practice=practice, name="Matrix protocol", defaults={"steps": steps}
        )[0]


def probe(client, url):
    """The methods to try and the answer to GET: GET when the route answers it (that
    answer is the control), otherwise the methods its 405 lists."""
    response = client.get(url)
    if response.status_code != 405:
        return ["GET"], response
    allowed = [m.strip() for m in response["Allow"].split(",")]
    return [m for m in allowed if m not in {"OPTIONS", "HEAD", "GET"}], response


def methods_for(client, url):
    """GET when the route answers GET; otherwise the methods its 405 lists."""
    return probe(client, url)[0]


def test_every_route_is_classified():
    unclassified = [
        r.template
        for r in routes()
        if not r.template.startswith(TENANT_PREFIXES + PORTAL_PREFIXES)
        and r.template not in PUBLIC
        and not r.template.startswith("admin/")  # superusers only: tests/test_admin.py
        and not r.template.startswith("api/v1/schema")  # public contract: tests/test_api.py
    ]
    assert unclassified == [], "classify these routes in tests/test_isolation.py"


def test_the_matrix_sees_routes():
    # A matrix over nothing would pass vacuously.
    assert len(tenant_routes()) >= 20


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.name or r.template)
def test_members_of_another_practice_get_404(world, cases, route):
    insider = signed_in(world.a.owner)
    outsider = signed_in(world.b.owner)
    values = url_values(world, cases, world.a.practice)
    foreign_url = route.url(values)
    own_slug_foreign_ids = route.url(url_values(world, cases, world.b.practice))
    methods, got = probe(insider, foreign_url)
    for method in methods:
        control = got if method == "GET" else getattr(insider, method.lower())(foreign_url)
        assert control.status_code != 404, f"{method} {foreign_url}: the control could not reach it"
        assert control.status_code < 500
        response = getattr(outsider, method.lower())(foreign_url)
        assert response.status_code == 404, f"{method} {foreign_url} -> {response.status_code}"
        if any(p != "practice_slug" for p in route.params):
            response = getattr(outsider, method.lower())(own_slug_foreign_ids)
            assert response.status_code == 404, (
                f"{method} {own_slug_foreign_ids} -> {response.status_code}"
            )


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.name or r.template)
def test_anonymous_visitor_is_sent_to_sign_in(client, world, cases, route):
    url = route.url(url_values(world, cases, world.a.practice))
    for method in ("GET", "POST"):
        response = getattr(client, method.lower())(url)
        if url.startswith("/api/"):
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/sign-in/?next=")


WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.name or r.template)
def test_members_of_another_practice_cannot_write_either(world, cases, route):
    """Every write method a route has, sent by practice B with practice A's ids, is a 404.

    The read matrix above stops at GET for routes that answer GET; a view that looked
    objects up without the scope only on its write path would slip past it.
    """
    insider = signed_in(world.a.owner)
    outsider = signed_in(world.b.owner)
    foreign_url = route.url(url_values(world, cases, world.a.practice))
    own_slug_foreign_ids = route.url(url_values(world, cases, world.b.practice))
    methods = (set(route.methods()) | set(methods_for(insider, foreign_url))) & WRITES
    is_api = foreign_url.startswith("/api/")
    for method in sorted(methods):
        urls = [foreign_url]
        if any(p != "practice_slug" for p in route.params):
            urls.append(own_slug_foreign_ids)
        for url in urls:
            send = getattr(outsider, method.lower())
            response = send(url, {}, content_type="application/json") if is_api else send(url)
            assert response.status_code == 404, f"{method} {url} -> {response.status_code}"


def test_the_write_matrix_sees_write_routes():
    writable = [r for r in tenant_routes() if set(r.methods()) & WRITES]
    assert len(writable) >= 10


COUPLE_PARAMS = {
    "couple_id",
    "partner_id",
    "occurrence_id",
    "assignment_id",
    "response_id",
    "alert_id",
    "report_id",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route",
    [r for r in tenant_routes() if COUPLE_PARAMS & set(r.params)],
    ids=lambda r: r.name or r.template,
)
def test_a_clinician_opening_a_colleagues_couple_gets_404(world, cases, route):
    """Inside one practice: a clinician not assigned to the couple, on every route that
    names one of its objects, reading or writing, gets 404 like an outsider."""
    from practice.models import Role
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(
        practice=world.a.practice,
        role=Role.CLINICIAN,
        user__full_name="Alpha Colleague",
        user__email="colleague@alpha.test",
    ).user
    # Erasing is for owners only: there the owner is the control, and any clinician is refused.
    owner_only = route.name in {"couple_erase", "couple-erase"}
    assigned = signed_in(world.a.owner if owner_only else world.a.clinician)
    other = signed_in(colleague)
    url = route.url(url_values(world, cases, world.a.practice))
    is_api = url.startswith("/api/")
    readable, got = probe(assigned, url)
    methods = set(readable) | (set(route.methods()) & WRITES)
    if "GET" in readable:
        assert got.status_code != 404, f"GET {url}: the control could not reach it"
    for method in sorted(methods):
        send = getattr(other, method.lower())
        response = send(url, {}, content_type="application/json") if is_api else send(url)
        assert response.status_code == 404, f"{method} {url} -> {response.status_code}"


# Tenant pages that show no client data: the practice's own settings, staff and forms.
NOT_CLIENT_DATA = {
    "instrument",
    "member",
    "token",
    "settings",
    "couples/new/",  # an empty form
    "protocols/",  # the practice's protocols: names and schedules
}
# Whole-practice export jobs: the list and progress show dates and percentages only (the
# download itself is audited and checked like any other route).
NO_CLIENT_DATA_ROUTES = {
    "p/<slug:practice_slug>/exports/",
    "p/<slug:practice_slug>/exports/<uuid:export_id>/status/",
    "api/v1/p/<slug:practice_slug>/exports/",
    "api/v1/p/<slug:practice_slug>/exports/<uuid:export_id>/",
    # What the report pages' scripts poll: a status sentence and counts (the pages are audited).
    "p/<slug:practice_slug>/reports/<uuid:report_id>/status/",
    "p/<slug:practice_slug>/reports/batches/<uuid:batch_id>/status/",
}
# Downloads that work once; their audit event is asserted in tests/test_exports.py.
ONE_TIME_ROUTES = {
    "p/<slug:practice_slug>/exports/<uuid:export_id>/download/",
    "api/v1/p/<slug:practice_slug>/exports/<uuid:export_id>/download/",
}


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes(), ids=lambda r: r.name or r.template)
def test_every_read_of_client_data_is_audited(world, cases, route):
    """Each tenant route that answers GET with client data writes an audit event."""
    from practice.models import AuditEvent

    if route.template in ONE_TIME_ROUTES:
        pytest.skip("a one-time download: the probe above uses it up (tests/test_exports.py)")
    if route.template in NO_CLIENT_DATA_ROUTES or (
        any(word in route.template for word in NOT_CLIENT_DATA)
        and not ({"couple_id", "partner_id"} & set(route.params))
    ):
        pytest.skip("no client data on this route")
    owner = signed_in(world.a.owner)
    url = route.url(url_values(world, cases, world.a.practice))

    def count() -> int:
        with scopes_disabled():
            return AuditEvent.objects.count()

    before = count()
    response = owner.get(url)
    if response.status_code == 405:
        pytest.skip("no GET")
    assert response.status_code in (200, 302), f"GET {url} -> {response.status_code}"
    assert count() > before, f"GET {url} wrote no audit event"
