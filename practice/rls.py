"""The second wall: PostgreSQL row-level security, kept in step with the django-scopes scope.

django-scopes is the first wall: it adds the practice filter to every query of a
scoped model. Row-level security is a second one below the ORM: every
tenant-owned table has a policy that shows and accepts only rows of the
practice named in the transaction setting ``app.practice_id``. A raw SQL query,
a forgotten filter or a manager without the scope still sees one practice.

Who sets it: a query wrapper on every PostgreSQL connection reads the active
django-scopes scope before each statement and, when the transaction does not
carry that practice yet, sets it with ``set_config(..., true)`` (local to the
transaction). So wherever a scope is opened (the staff and portal middlewares,
the Celery task base, management commands and the sweepers' per-practice
loops) the database follows. A statement outside a transaction gets a short
transaction of its own so that the setting can be local to it.

System mode: an explicit ``scopes_disabled()`` block (the few documented
places that must look across practices: token and link look-ups before a
practice is known, the beat sweepers, writing an audit event, the superuser
admin) sets ``app.system = on`` for its statements only. Nothing else does.

The policies bind only roles that neither own the tables nor are superusers:
the app connects as such a role (``DATABASE_URL``) while migrations run as the
owner (``MIGRATION_DATABASE_URL``). SQLite has the first wall only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django_scopes.state import get_scope

log = logging.getLogger(__name__)

PRACTICE_SETTING = "app.practice_id"
SYSTEM_SETTING = "app.system"
TENANT_APPS = ("practice", "clients", "assessments", "reports")
# Rows with no practice that every practice reads: built-in instruments and
# norms pooled across practices. Only system mode writes them.
SHARED_WHEN_NULL = frozenset({"assessments.instrument", "assessments.normestimate"})
# The audit trail is append-only for the app role, on top of the model's own refusal.
APPEND_ONLY = frozenset({"practice.auditevent"})

State = tuple[str, str]  # (practice id or "", "on" or "")
NOBODY: State = ("", "")
_STATE_ATTR = "_attune_rls_state"


def wanted() -> State:
    """The settings the current django-scopes state asks for."""
    state = get_scope()
    if not state.get("_enabled", True):
        return ("", "on")
    practice = state.get("practice")
    if practice is None or isinstance(practice, list | tuple):
        return NOBODY
    return (str(getattr(practice, "pk", practice)), "")


def _apply(connection: BaseDatabaseWrapper, state: State) -> None:
    # The driver's own cursor: no wrapper (no recursion) and not a query of the app's.
    with connection.connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [PRACTICE_SETTING, state[0], SYSTEM_SETTING, state[1]],
        )


def follow_scope(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper: make the transaction carry the scope's practice before the statement."""
    connection: BaseDatabaseWrapper = context["connection"]
    if isinstance(sql, str) and sql[:16].lstrip().upper().startswith(
        ("ROLLBACK", "RELEASE", "SAVEPOINT")
    ):
        return execute(sql, params, many, context)  # transaction control, never data
    want = wanted()
    if not connection.in_atomic_block:
        if want == NOBODY:
            return execute(sql, params, many, context)
        with transaction.atomic(using=connection.alias):
            _apply(connection, want)
            setattr(connection, _STATE_ATTR, want)
            return execute(sql, params, many, context)
    if getattr(connection, _STATE_ATTR, NOBODY) != want:
        _apply(connection, want)
        setattr(connection, _STATE_ATTR, want)
    return execute(sql, params, many, context)


def _forgetting(connection: BaseDatabaseWrapper, name: str) -> None:
    """Wrap a transaction-ending method so the remembered settings are dropped with it.

    PostgreSQL forgets local settings at commit and rollback, and a rolled-back
    savepoint undoes those set inside it; forgetting too much only costs one
    more ``set_config`` before the next statement.
    """
    original = getattr(connection, name)

    def forget(*args: Any, **kwargs: Any) -> Any:
        # After the call: a savepoint rollback is itself a statement, sent as it stands.
        try:
            return original(*args, **kwargs)
        finally:
            setattr(connection, _STATE_ATTR, NOBODY)

    forget.attune_rls = True  # type: ignore[attr-defined]
    setattr(connection, name, forget)


def install(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: wrap every PostgreSQL connection once."""
    if connection.vendor != "postgresql":
        return
    setattr(connection, _STATE_ATTR, NOBODY)  # a new session has no settings
    if follow_scope not in connection.execute_wrappers:
        connection.execute_wrappers.append(follow_scope)
    for name in ("commit", "rollback", "savepoint_rollback", "close"):
        if not getattr(getattr(connection, name), "attune_rls", False):
            _forgetting(connection, name)


# --- the policies ---------------------------------------------------------------------------

TENANT = (
    f"(practice_id = nullif(current_setting('{PRACTICE_SETTING}', true), '')::bigint"
    f" OR current_setting('{SYSTEM_SETTING}', true) = 'on')"
)


def tenant_tables() -> dict[str, str]:
    """Every tenant-owned table and the policy expression that guards it."""
    tables: dict[str, str] = {}
    for model in apps.get_models():
        if model._meta.app_label not in TENANT_APPS:
            continue
        if not any(f.attname == "practice_id" for f in model._meta.concrete_fields):
            continue
        label = model._meta.label_lower
        expression = f"(practice_id IS NULL OR {TENANT})" if label in SHARED_WHEN_NULL else TENANT
        tables[model._meta.db_table] = expression
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if not through._meta.auto_created:  # type: ignore[union-attr]
                continue
            # A join table has no practice of its own: a row is visible when its
            # parent row is (the parent's policy applies inside the sub-query).
            column = field.m2m_column_name()
            # Table and column names come from the models, never from input.
            tables[through._meta.db_table] = (  # type: ignore[union-attr]
                f"EXISTS (SELECT 1 FROM {model._meta.db_table} parent WHERE parent.id = {column})"  # noqa: S608
            )
    return tables


def _with_check(expression: str) -> str:
    # Shared rows are readable by all but written only in system mode.
    return expression.replace("practice_id IS NULL OR ", "")


def app_role() -> str:
    """The role the app connects as, which the policies bind."""
    return str(settings.DATABASE_APP_ROLE)


def secure_database(using: str = "default") -> list[str]:
    """Create the app role if needed, grant it the tables, and (re)apply every policy.

    Idempotent; runs after every ``migrate`` on PostgreSQL, as the owner.
    Returns the tables it guards.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    from psycopg import sql

    role = app_role()
    tables = tenant_tables()
    audit_table = apps.get_model("practice", "AuditEvent")._meta.db_table
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            password = settings.DATABASE_APP_PASSWORD
            statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role))
            if password:
                statement = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            cursor.execute(statement)
            log.info("created database role %s", role)
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        grants = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            ),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(sql.Identifier(role)),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            ),
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(audit_table), sql.Identifier(role)
            ),
        ]
        for statement in grants:
            cursor.execute(statement)
        for table, expression in tables.items():
            cursor.execute(
                sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(sql.Identifier(table))
            )
            cursor.execute(
                sql.SQL("DROP POLICY IF EXISTS attune_tenant ON {}").format(sql.Identifier(table))
            )
            cursor.execute(
                sql.SQL("CREATE POLICY attune_tenant ON {} USING {} WITH CHECK {}").format(
                    sql.Identifier(table),
                    sql.SQL(f"({expression})"),  # built above from constants, never from input
                    sql.SQL(f"({_with_check(expression)})"),
                )
            )
    return sorted(tables)
