"""``migrate`` that runs as the table owner when ``MIGRATION_DATABASE_URL`` is set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

OWNER_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


class Command(migrate.Command):
    help = (
        "Apply migrations as the owner (MIGRATION_DATABASE_URL when set), then create the "
        "app's database role and its row-level security policies (PostgreSQL)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = settings.MIGRATION_DATABASE
        if owner is not None and options.get("database", DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS:
            # The whole command, data migrations and post-migrate steps included, talks
            # to the database as the owner: the app's role may not own the tables, or
            # the policies would not bind it.
            connection = connections[DEFAULT_DB_ALIAS]
            connection.close()
            connection.settings_dict.update({key: owner[key] for key in OWNER_KEYS if key in owner})
        super().handle(*args, **options)
