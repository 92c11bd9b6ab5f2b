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


@pytest.mark.django_db
def test_the_log_names_people_and_records_the_reader_may_see(world, cases):
    """Names and titles instead of ids; a couple filter; never another practice's names."""
    from clients.models import Couple
    from practice import audit_names
    from tests.factories import make_couple

    case = cases.a
    with scope(practice=world.a.practice):
        Couple.objects.filter(pk=case.couple.pk).update(label="=HYPERLINK(1) & Co")
        case.couple.refresh_from_db()
        audit.record_for_partner("portal.sign_in", case.partner_one)
        audit.record(
            "couple.view", practice=world.a.practice, actor=world.a.clinician, target=case.couple
        )
        audit.record(
            "report.download", practice=world.a.practice, actor=world.a.owner, target=case.report
        )
        audit.record(
            "alert.acknowledge",
            practice=world.a.practice,
            actor=world.a.clinician,
            target=case.alert,
        )
    other = make_couple(world.a.practice, world.a.clinician, label="Other Pair", n=3)
    with scope(practice=world.a.practice):
        audit.record(
            "couple.view", practice=world.a.practice, actor=world.a.clinician, target=other
        )
    client = signed_in(world.a.owner)
    url = f"/p/{world.a.practice.slug}/audit/"
    html = client.get(url).content.decode()
    assert "partner:" not in html
    assert f"{case.partner_one.display_name} of =HYPERLINK(1) &amp; Co (partner)" in html
    assert "Couple report for =HYPERLINK(1) &amp; Co" in html
    assert "Alert for =HYPERLINK(1) &amp; Co: Safety concern" in html
    assert str(case.report.uuid)[:8] not in html
    assert cases.b.couple.label not in html

    mine = client.get(url, {"couple": str(case.couple.uuid)})
    shown = {(e.target_type, e.target_id) for e in mine.context["events"]}
    assert ("clients.couple", str(case.couple.uuid)) in shown
    assert ("reports.report", str(case.report.uuid)) in shown
    assert ("assessments.alert", str(case.alert.uuid)) in shown
    assert ("clients.couple", str(other.uuid)) not in shown
    assert any(e.actor_label == f"partner:{case.partner_one.uuid}" for e in mine.context["events"])
    # Another practice's couple id filters to nothing rather than leaking its events.
    assert list(client.get(url, {"couple": str(cases.b.couple.uuid)}).context["events"]) == []

    # A member who may not see the couple gets ids, not names, from the same namers.
    from practice.models import Membership, Role
    from tests.factories import MembershipFactory

    stranger = MembershipFactory(practice=world.a.practice, role=Role.CLINICIAN).user
    with scope(practice=world.a.practice):
        membership = Membership.objects.get(user=stranger, practice=world.a.practice)
        events = list(AuditEvent.objects.filter(target_id=str(case.couple.uuid)))
        audit_names.names_for(membership, events)
    assert events and all(e.target_name == "" for e in events)


@pytest.mark.django_db
def test_the_csv_export_keeps_ids_defuses_formulas_and_is_audited(world, cases):
    import csv
    import io

    from clients.models import Couple

    case = cases.a
    with scope(practice=world.a.practice):
        Couple.objects.filter(pk=case.couple.pk).update(label="=HYPERLINK(1)")
        audit.record(
            "couple.view", practice=world.a.practice, actor=world.a.clinician, target=case.couple
        )
    client = signed_in(world.a.owner)
    response = client.get(
        f"/p/{world.a.practice.slug}/audit/export.csv", {"couple": str(case.couple.uuid)}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attune-audit-alpha-practice-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    viewed = [r for r in rows if r["action"] == "couple.view"]
    assert viewed and viewed[0]["target_id"] == str(case.couple.uuid)
    assert viewed[0]["target_name"] == "'=HYPERLINK(1)"
    assert viewed[0]["actor_id"] == str(world.a.clinician.uuid)
    assert viewed[0]["actor_name"] == world.a.clinician.full_name
    with scope(practice=world.a.practice):
        exported = AuditEvent.objects.get(action="audit.export")
    assert exported.actor == world.a.owner
    assert exported.details == {"filters": {"couple": str(case.couple.uuid)}}
    # Owners only; another practice's owner asking at this practice's address gets 404.
    assert (
        signed_in(world.a.clinician).get(f"/p/{world.a.practice.slug}/audit/export.csv").status_code
        == 404
    )
    assert (
        signed_in(world.b.owner).get(f"/p/{world.a.practice.slug}/audit/export.csv").status_code
        == 404
    )
