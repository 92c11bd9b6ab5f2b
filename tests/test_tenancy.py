"""Scopes, memberships and switching between practices."""

from __future__ import annotations

import pytest
from django_scopes import ScopeError, scope

from practice.models import Membership
from tests.conftest import signed_in
from tests.factories import MembershipFactory


@pytest.mark.django_db
def test_a_scoped_query_outside_a_scope_raises(world):
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        Membership.objects.filter(role="owner").count()


@pytest.mark.django_db
def test_inside_a_scope_only_that_practice_is_visible(world):
    with scope(practice=world.a.practice):
        practices = {m.practice_id for m in Membership.objects.all()}
    assert practices == {world.a.practice.pk}


@pytest.mark.django_db
def test_a_user_in_two_practices_chooses_and_switches(world):
    MembershipFactory(practice=world.b.practice, user=world.a.clinician, role="assistant")
    client = signed_in(world.a.clinician)
    assert client.get("/").url == "/practices/"
    chooser = client.get("/practices/").content.decode()
    assert world.a.practice.name in chooser
    assert world.b.practice.name in chooser
    page_a = client.get(f"/p/{world.a.practice.slug}/")
    page_b = client.get(f"/p/{world.b.practice.slug}/")
    assert page_a.status_code == page_b.status_code == 200
    assert page_a.context["membership"].role == "clinician"
    assert page_b.context["membership"].role == "assistant"
    assert "Switch practice" in page_a.content.decode()


@pytest.mark.django_db
def test_a_deactivated_user_loses_access(world):
    client = signed_in(world.a.clinician)
    world.a.clinician.is_active = False
    world.a.clinician.save()
    assert client.get(f"/p/{world.a.practice.slug}/").status_code in {302, 404}


@pytest.mark.django_db
def test_unknown_practice_is_404_not_500(world):
    client = signed_in(world.a.owner)
    assert client.get("/p/no-such-practice/").status_code == 404
