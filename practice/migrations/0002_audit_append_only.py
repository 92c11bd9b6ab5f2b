"""Make the audit table append-only in the database itself, not only in the ORM.

Row deletes are refused too on PostgreSQL. TRUNCATE (a deliberate purge, and
what the test runner uses to reset tables) is not a row operation and stays
possible. On SQLite, whose test runner resets tables with DELETE, only
updates are refused.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION practice_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'practice_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER practice_auditevent_no_change
    BEFORE UPDATE OR DELETE ON practice_auditevent
    FOR EACH ROW EXECUTE FUNCTION practice_auditevent_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS practice_auditevent_no_change ON practice_auditevent;
DROP FUNCTION IF EXISTS practice_auditevent_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER practice_auditevent_no_update BEFORE UPDATE ON practice_auditevent
       BEGIN SELECT RAISE(ABORT, 'practice_auditevent is append-only'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS practice_auditevent_no_update;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("practice", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": [POSTGRES_UP], "sqlite": SQLITE_UP}),
            _run({"postgresql": [POSTGRES_DOWN], "sqlite": SQLITE_DOWN}),
        )
    ]
