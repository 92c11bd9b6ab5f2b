"""What /healthz says about each dependency: database, cache, broker, worker heartbeat.

Only the database is essential to the web tier; the others are reported so an
operator sees what is degraded, without the load balancer taking the web
servers out of service for it.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone

# Beat records a heartbeat every 30 s through the worker; three missed ones is stale.
HEARTBEAT_STALE_AFTER = timedelta(seconds=90)
BROKER_TIMEOUT_SECONDS = 1.0


def database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "down"
    return "ok"


def cache_state() -> str:
    """ "ok", "down" (answering from local memory) or "local" (no shared cache configured)."""
    ping = getattr(cache, "ping", None)
    if ping is None:
        return "local"
    return "ok" if ping() else "down"


def broker() -> str:
    from kombu.exceptions import OperationalError

    from practice.celery import app

    if app.conf.task_always_eager:
        return "eager"  # tasks run inline: there is no broker to ask
    try:
        with app.connection_for_write() as conn:
            # One attempt, no back-off sleep: a health check must answer quickly.
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except (OperationalError, OSError):
        return "down"
    return "ok"


def worker_heartbeat(database_state: str) -> str:
    """ "ok", "stale" (no heartbeat lately), "missing" (never) or "unknown" (no database)."""
    if database_state != "ok":
        return "unknown"
    from practice.models import Heartbeat

    try:
        beat = Heartbeat.objects.filter(name="worker").first()
    except DatabaseError:
        return "unknown"
    if beat is None:
        return "missing"
    return "ok" if beat.at >= timezone.now() - HEARTBEAT_STALE_AFTER else "stale"


def report() -> dict[str, str]:
    """The state of every dependency, by name."""
    db = database()
    return {
        "database": db,
        "cache": cache_state(),
        "broker": broker(),
        "worker": worker_heartbeat(db),
    }
