"""The couple list's plain rendering, the token's membership and the batched throttles.

The list renders its rows with plain functions (``couple_rows``) for speed, while
``CoupleSerializer`` remains the documented shape: these tests hold the two to the
same JSON, byte for byte, for every role and for rows in every state.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from rest_framework import throttling
from rest_framework.renderers import JSONRenderer

from assessments import caseload
from assessments.models import CaseloadSummary
from assessments.serializers_caseload import CoupleSerializer, couple_rows, row_values
from clients.models import Couple, CoupleStatus
from practice.models import Membership
from practice.roles import Can, can
from tests.factories import MembershipFactory, make_couple
from tests.test_api import api, assert_error, token_for
from tests.test_caseload import bulk_couples


@pytest.fixture
def base(world):
    return f"/api/v1/p/{world.a.practice.slug}"


def _by_name(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The serializer's clinicians come from a prefetch with no ORDER BY; the plain rows sort
    # them by name. Same people, and with names that differ, the same order after this.
    for row in rows:
        row["clinicians"] = sorted(row["clinicians"], key=lambda c: c["full_name"])
    return rows


def _both(membership: Membership, filters: caseload.Filters) -> tuple[bytes, bytes]:
    today = timezone.localdate()
    clinical = can(membership, Can.VIEW_CLINICAL)
    with scope(practice=membership.practice):
        couples = caseload.caseload(membership, filters, today)
        documented = CoupleSerializer(list(couples), many=True, context={"clinical": clinical})
        plain = couple_rows(list(row_values(couples, clinical)), clinical, today)
        return (
            JSONRenderer().render(_by_name(list(documented.data))),
            JSONRenderer().render(_by_name(plain)),
        )


@pytest.mark.django_db
def test_the_plain_rows_are_the_serializers_json_for_every_role_and_every_state(world, cases):
    practice, clinician = world.a.practice, world.a.clinician
    bulk_couples(practice, clinician, 4)
    with scope(practice=practice):
        # A couple with two clinicians, one with none, a closed one, one without its summary
        # row (written past the services), one whose partner left no forms entry.
        shared = make_couple(practice, clinician, label="Shared", n=1)
        shared.clinicians.add(world.a.owner)
        make_couple(practice, clinician, label="Nobody's", n=2).clinicians.clear()
        closed = make_couple(practice, clinician, label="Closed", n=3)
        Couple.objects.filter(pk=closed.pk).update(status=CoupleStatus.CLOSED)
        bare = make_couple(practice, clinician, label="Bare", n=4)
        CaseloadSummary.objects.filter(couple=bare).delete()
        CaseloadSummary.objects.filter(couple=shared).update(
            partner_forms=[{"open": [], "done": 2}]
        )
    for user in (world.a.owner, world.a.clinician, world.a.assistant):
        membership = world.a.membership(user)
        for filters in (caseload.Filters(status="all"), caseload.Filters(sort="due")):
            documented, plain = _both(membership, filters)
            assert plain == documented
            assert plain.count(b'"uuid"') > 10


@pytest.mark.django_db
def test_a_couples_clinicians_come_in_name_order(world, cases, base):
    with scope(practice=world.a.practice):
        shared = make_couple(world.a.practice, world.a.owner, label="Shared", n=1)
        shared.clinicians.add(world.a.clinician)
    client = api(token_for(world.a.owner, world.a.practice))
    rows = client.get(base + "/couples/?q=Shared").json()["results"]
    one = client.get(base + f"/couples/{shared.uuid}/").json()
    expected = [
        world.a.clinician.full_name,
        world.a.owner.full_name,
    ]  # "Alpha Clinician", "Alpha Owner"
    assert [c["full_name"] for c in rows[0]["clinicians"]] == expected
    assert [c["full_name"] for c in one["clinicians"]] == expected


@pytest.mark.django_db
def test_a_token_whose_owner_left_the_practice_finds_nothing_there(world, cases, base):
    secret = token_for(world.a.clinician, world.a.practice)
    assert api(secret).get(base + "/couples/").status_code == 200
    with scopes_disabled():
        Membership.objects.filter(user=world.a.clinician, practice=world.a.practice).delete()
    assert_error(api(secret).get(base + "/couples/"), 404, "not_found")


@pytest.mark.django_db
def test_the_membership_read_with_a_token_is_the_stored_one(world, cases, base):
    from practice import tokens

    colleague = MembershipFactory(practice=world.a.practice, role="assistant")
    secret = token_for(colleague.user, world.a.practice)
    token = tokens.authenticate(secret)
    found = tokens.membership(token, world.a.practice.slug)
    assert (found.pk, found.uuid, found.role, found.created_at) == (
        colleague.pk,
        colleague.uuid,
        colleague.role,
        colleague.created_at,
    )
    assert found.practice == world.a.practice and found.user == colleague.user
    assert tokens.membership(token, world.b.practice.slug) is None


class CountingCache:
    """The throttles' cache, counting what is asked of it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if callable(attribute):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attribute(*args, **kwargs)

            return counted
        return attribute


@pytest.mark.django_db
def test_both_throttles_cost_one_cache_read_and_one_write_and_still_refuse(
    world, cases, base, monkeypatch
):
    from practice.api_throttles import IpThrottle, TokenThrottle

    counting = CountingCache(throttling.SimpleRateThrottle.cache)
    monkeypatch.setattr(throttling.SimpleRateThrottle, "cache", counting)
    rates = {"token": "2/minute", "ip": "1000/minute"}
    monkeypatch.setattr(TokenThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IpThrottle, "THROTTLE_RATES", rates)
    client = api(cases.a.token_secret)
    assert client.get(base + "/couples/").status_code == 200
    assert counting.calls == ["get_many", "set_many"]
    assert client.get(base + "/couples/").status_code == 200
    refused = client.get(base + "/couples/")
    assert_error(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 60
    # The refused call still counted against the address, as DRF's own loop does.
    ip_key = IpThrottle.cache_format % {"scope": "ip", "ident": "127.0.0.1"}
    assert len(counting.real.get(ip_key)) == 3
    assert Client().get(base + "/couples/").status_code == 401
