"""Recompute every couple's caseload row from the history (after a restore or an upgrade)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from assessments import summary


class Command(BaseCommand):
    help = (
        "Recompute the caseload summary of every couple from their forms, scores and alerts, "
        "in batches of short transactions. Safe while the app runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=summary.BATCH, help="Couples per transaction."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        written = summary.rebuild(batch=max(1, options["batch"]))
        self.stdout.write(
            f"Rebuilt the caseload summaries of {written} couples "
            f"in {time.monotonic() - started:.1f} s."
        )
