"""The audit trail: one writer, append-only down to the database, readable by owners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from practice import audit
from practice.models import AuditEvent
from tests.conftest import signed_in


@pytest.mark.django_db
def test_record_fills_actor_practice_ip_and_target_from_the_request(rf, world):
    request = rf.get("/", REMOTE_ADDR="198.51.100.7")
    request.user = world.a.owner
    request.practice = world.a.practice
    event = audit.record("audit.view", request=request, target=world.a.owner, rows=3)
    assert (event.actor, event.practice, event.ip) == (
        world.a.owner,
        world.a.practice,
        "198.51.100.7",
    )
    assert (event.target_type, event.target_id) == ("practice.user", str(world.a.owner.uuid))
    assert event.details == {"rows": 3}


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit.record("couple.nonsense")


@pytest.mark.django_db
def test_events_cannot_be_changed_or_deleted_through_the_orm(world):
    event = audit.record("audit.view", practice=world.a.practice)
    event.action = "auth.sign_in"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with scope(practice=world.a.practice):
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().update(action="x")
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_updates_and_deletes(world):
    event = audit.record("audit.view", practice=world.a.practice)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE practice_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM practice_auditevent WHERE id = %s", [event.pk])
    with scopes_disabled():
        assert AuditEvent.objects.get(pk=event.pk).action == "audit.view"


@pytest.mark.django_db
def test_owner_reads_only_their_practices_log_with_filters(world):
    audit.record("auth.sign_in", practice=world.a.practice, actor=world.a.clinician)
    audit.record("auth.sign_in", practice=world.b.practice, actor=world.b.clinician)
    old = audit.record("auth.sign_out", practice=world.a.practice, actor=world.a.assistant)
    # Backdate one event the only way possible: a fresh row written with an old time.
    with scopes_disabled():
        AuditEvent.objects.create(
            practice=world.a.practice,
            actor=world.a.assistant,
            action="auth.sign_out",
            at=timezone.now() - timedelta(days=40),
        )
    client = signed_in(world.a.owner)
    url = f"/p/{world.a.practice.slug}/audit/"
    page = client.get(url)
    assert page.status_code == 200
    shown = list(page.context["page"].object_list)
    assert all(e.practice_id == world.a.practice.pk for e in shown)
    assert world.b.clinician.full_name not in page.content.decode()

    by_actor = client.get(url, {"actor": str(world.a.clinician.uuid)}).context["page"].object_list
    assert {e.actor_id for e in by_actor} == {world.a.clinician.pk}
    by_action = client.get(url, {"action": "auth.sign_out"}).context["page"].object_list
    assert {e.action for e in by_action} == {"auth.sign_out"}
    recent = client.get(
        url, {"action": "auth.sign_out", "from": str(timezone.localdate() - timedelta(days=7))}
    )
    assert [e.pk for e in recent.context["page"].object_list] == [old.pk]
    # Nonsense filters give an empty page, not an error.
    assert client.get(url, {"actor": "not-a-uuid", "from": "yesterday"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "assistant"])
def test_only_owners_see_the_audit_log(world, role):
    client = signed_in(getattr(world.a, role))
    assert client.get(f"/p/{world.a.practice.slug}/audit/").status_code == 404


@pytest.mark.django_db
def test_reading_the_log_is_itself_audited(world):
    client = signed_in(world.a.owner)
    client.get(f"/p/{world.a.practice.slug}/audit/")
    with scope(practice=world.a.practice):
        assert AuditEvent.objects.filter(action="audit.view", actor=world.a.owner).count() == 1


@pytest.mark.django_db
def test_service_events_without_a_request_still_name_their_practice(world):
    from tests.factories import assign, make_couple

    couple = make_couple(world.a.practice, world.a.clinician)
    assignment = assign(couple)
    with scope(practice=world.a.practice):
        event = AuditEvent.objects.get(action="assignment.create")
    assert event.practice == world.a.practice
    assert event.target_id == str(assignment.uuid)
