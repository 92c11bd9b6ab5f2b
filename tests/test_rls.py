"""The second wall (PostgreSQL only): row-level security hides other practices' rows even
from raw SQL, with django-scopes' filter out of the way, when connected as the app's role."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django_scopes import scope, scopes_disabled

from clients.models import Couple
from practice import rls
from practice.models import AuditEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"
    ),
]


def as_app_role() -> None:
    """Act as the app's role (not the owner, not a superuser) until the test's rollback."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{rls.app_role()}"')


def raw(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def practices_in(model: type[Model]) -> set[int]:
    table = model._meta.db_table
    return {row[0] for row in raw(f"SELECT practice_id FROM {table}")}  # noqa: S608


def test_every_tenant_table_has_row_level_security_and_a_policy(cases):
    guarded = rls.tenant_tables()
    rows = dict(raw("SELECT relname, relrowsecurity FROM pg_class WHERE relkind = 'r'"))
    policies = {row[0] for row in raw("SELECT tablename FROM pg_policies")}
    assert set(guarded) <= policies
    assert all(rows[table] for table in guarded)
    # Every table with a practice_id column is guarded, plus the couple-clinician join table.
    with_column = {
        row[0]
        for row in raw(
            "SELECT table_name FROM information_schema.columns "
            "WHERE column_name = 'practice_id' AND table_schema = 'public'"
        )
    }
    assert with_column <= set(guarded)
    assert "clients_couple_clinicians" in guarded


def test_raw_sql_without_the_orm_scope_sees_one_practice(world, cases):
    as_app_role()
    a, b = world.a.practice.pk, world.b.practice.pk
    # No scope at all: no tenant row is visible, not even by raw SQL.
    assert practices_in(Couple) == set()
    with scope(practice=world.a.practice):
        assert practices_in(Couple) == {a}
        # The ORM with django-scopes' filter bypassed is still cut by the database.
        assert set(Couple.objects.with_scopes_disabled().values_list("practice_id", flat=True)) == {
            a
        }
        assert {row[0] for row in raw("SELECT couple_id FROM clients_couple_clinicians")} == {
            cases.a.couple.pk
        }
        # Built-in instruments (no practice) are shared; B's own instrument is not.
        visible = {row[0] for row in raw("SELECT DISTINCT practice_id FROM assessments_instrument")}
        assert visible == {None, a}
    with scope(practice=world.b.practice):
        assert practices_in(Couple) == {b}
    # The explicit system mode (beat sweepers, look-ups before a practice is known) sees all.
    with scopes_disabled():
        assert practices_in(Couple) == {a, b}


def test_writing_into_another_practice_is_refused_by_the_database(world, cases):
    as_app_role()
    with scope(practice=world.a.practice), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clients_couple SET label = 'x' WHERE practice_id = %s", [world.b.practice.pk]
        )
        assert cursor.rowcount == 0  # B's rows are not there to update
    # An insert naming B is refused outright.
    with (
        scope(practice=world.a.practice),
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO clients_note (uuid, practice_id, couple_id, author_id, body, "
            "created_at) VALUES (gen_random_uuid(), %s, %s, %s, 'x', now())",
            [world.b.practice.pk, cases.b.couple.pk, world.a.clinician.pk],
        )


def test_the_app_role_cannot_change_or_delete_audit_events(world, cases):
    as_app_role()
    with scope(practice=world.a.practice), pytest.raises(DatabaseError), transaction.atomic():
        raw("DELETE FROM practice_auditevent")
    with scope(practice=world.a.practice):
        assert AuditEvent.objects.filter(practice=world.a.practice).exists()


def test_the_settings_last_one_transaction(world, cases):
    as_app_role()
    with scope(practice=world.a.practice):
        assert practices_in(Couple) == {world.a.practice.pk}
    assert raw("SELECT current_setting('app.practice_id', true)") in ([("",)], [(None,)])
