"""Try again to score submissions that failed to score (after the cause is fixed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from assessments.services import scoring
from assessments.tasks import score_response


class Command(BaseCommand):
    help = (
        "Give every submission marked with a scoring error fresh tries and queue it for "
        "scoring now (or score it here with --inline)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--inline", action="store_true", help="Score in this process instead of the worker."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        due = scoring.retry_failed_scoring()
        for practice_id, response_id in due:
            if options["inline"]:
                score_response.apply(
                    kwargs={"practice_id": practice_id, "response_id": response_id}
                )
            else:
                score_response.delay(practice_id=practice_id, response_id=response_id)
        how = "scored here" if options["inline"] else "queued"
        self.stdout.write(f"{len(due)} submission(s) {how} again.")
