"""Findings of the outside probe that are about refusals: batch pages answer like the API,
and refused reaches for another practice's or partner's data leave a security event."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from practice.models import AuditEvent, Role
from tests.conftest import signed_in_quickly as signed_in
from tests.factories import MembershipFactory
from tests.test_portal import portal_client


def refusals(practice):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action="security.refused", practice=practice))


@pytest.mark.django_db
def test_a_colleague_gets_404_on_a_batch_of_someone_elses_couples_page_and_api(world, cases):
    colleague = MembershipFactory(practice=world.a.practice, role=Role.CLINICIAN).user
    slug = world.a.practice.slug
    batch = cases.a.batch.uuid
    client = signed_in(colleague)
    assert client.get(f"/p/{slug}/reports/batches/{batch}/").status_code == 404
    assert client.get(f"/api/v1/p/{slug}/report-batches/{batch}/").status_code == 404
    # Its owner (the clinician of its couple) still sees it.
    assert (
        signed_in(world.a.clinician).get(f"/p/{slug}/reports/batches/{batch}/").status_code == 200
    )


@pytest.mark.django_db
def test_reaching_into_another_practice_is_a_security_event_for_its_owners(world, cases):
    outsider = signed_in(world.b.owner)
    couple = cases.a.couple.uuid
    for _ in range(5):
        assert outsider.get(f"/p/{world.a.practice.slug}/couples/{couple}/").status_code == 404
        assert outsider.get(f"/api/v1/p/{world.a.practice.slug}/couples/").status_code == 404
    # Rate-limited: one event per caller, practice and reason in the window.
    events = refusals(world.a.practice)
    assert [(e.actor, e.details["reason"]) for e in events] == [(world.b.owner, "other_practice")]
    page = signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/audit/").content.decode()
    assert "Refused: data of another practice or partner" in page


@pytest.mark.django_db
def test_another_practices_ids_under_your_own_address_are_logged_in_yours(world, cases):
    outsider = signed_in(world.b.owner)
    url = f"/api/v1/p/{world.b.practice.slug}/couples/{cases.a.couple.uuid}/"
    assert outsider.get(url).status_code == 404
    events = refusals(world.b.practice)
    assert [(e.actor, e.details["reason"], e.details["route"]) for e in events] == [
        (world.b.owner, "not_yours_or_unknown", "api:couple")
    ]
    assert refusals(world.a.practice) == []


@pytest.mark.django_db
def test_a_partner_reaching_for_the_other_partners_private_form_is_logged(world, cases):
    other = portal_client(cases.a.partner_two)
    assert other.get(f"/portal/forms/{cases.a.safety_occurrence.uuid}/").status_code == 404
    events = refusals(world.a.practice)
    assert [(e.actor_label, e.details["reason"]) for e in events] == [
        (f"partner:{cases.a.partner_two.uuid}", "other_partner_or_unknown")
    ]
