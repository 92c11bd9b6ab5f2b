"""``migrate`` that runs as the table owner when ``MIGRATION_DATABASE_URL`` is set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS


class Command(migrate.Command):
    help = (
        "Apply migrations as the owner (MIGRATION_DATABASE_URL when set), then create the "
        "app's database role and its row-level security policies (PostgreSQL)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # The app's own role may not own the tables, or the policies would not bind it.
        if options.get("database") == DEFAULT_DB_ALIAS and "migrations" in settings.DATABASES:
            options["database"] = "migrations"
        super().handle(*args, **options)
