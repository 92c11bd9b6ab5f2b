"""Search every table and the storage directory for traces of someone's data."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection


def tables_holding(needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every column of every table whose text holds a needle.

    Every table in the database, not only the models: any column is cast to text
    and compared case-insensitively, JSON and text alike.
    """
    found = []
    quote = connection.ops.quote_name
    lowered = [n.lower() for n in needles]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in _columns(cursor, table):
                cast = f"LOWER(CAST({quote(column)} AS TEXT))"
                where = " OR ".join(f"{cast} LIKE %s" for _ in lowered)
                cursor.execute(
                    f"SELECT {cast} FROM {quote(table)} WHERE {where}",  # noqa: S608
                    [f"%{n}%" for n in lowered],
                )
                for (value,) in cursor.fetchall():
                    found.extend((table, column, n) for n in lowered if n in value)
    return sorted(set(found))


def _columns(cursor: object, table: str) -> list[str]:
    """Every column of a table, straight from the database's catalogue."""
    if connection.vendor == "sqlite":
        cursor.execute(f"PRAGMA table_info({connection.ops.quote_name(table)})")  # type: ignore[attr-defined]
        return [row[1] for row in cursor.fetchall()]  # type: ignore[attr-defined]
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s AND table_schema = current_schema()",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]  # type: ignore[attr-defined]


def storage_root() -> Path:
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


def files_holding(needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for every stored file whose bytes hold a needle."""
    found = []
    for path in storage_root().rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found.extend(
                (str(path.relative_to(storage_root())), n)
                for n in needles
                if n.lower().encode() in data
            )
    return found


def stored_files() -> set[str]:
    return {str(p.relative_to(storage_root())) for p in storage_root().rglob("*") if p.is_file()}
