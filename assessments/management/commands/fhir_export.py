"""Export instruments as FHIR R4 Questionnaires, or a couple's answers as a Bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from assessments.management.commands._practice import practice_and_owner
from assessments.models import Instrument, InstrumentStatus
from assessments.services import fhir as fhir_services
from clients.models import Couple


class Command(BaseCommand):
    help = (
        "Print (or write to --output) one instrument as a FHIR Questionnaire, every "
        "instrument of the practice as a Bundle, or one couple's submitted answers as a "
        "Bundle of QuestionnaireResponses (audited; private answers and names only when asked)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--instrument", metavar="KEY", help="one instrument, by key")
        what.add_argument(
            "--all-instruments", action="store_true", help="every instrument, as a Bundle"
        )
        what.add_argument("--couple", metavar="UUID", help="one couple's answers, as a Bundle")
        parser.add_argument("--practice", required=True, help="the practice's address name")
        parser.add_argument(
            "--instrument-version", type=int, help="an instrument version (default: newest)"
        )
        parser.add_argument("--include-private", action="store_true")
        parser.add_argument("--include-names", action="store_true")
        parser.add_argument("--output", help="a file to write instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        practice, _owner = practice_and_owner(options["practice"], None)
        with scope(practice=practice):
            if options["couple"]:
                try:
                    couple = Couple.objects.filter(uuid=options["couple"]).first()
                except ValidationError:
                    couple = None
                if couple is None:
                    raise CommandError(f"No couple {options['couple']} in {practice.slug}.")
                result = fhir_services.export_couple(
                    couple,
                    actor=None,
                    actor_label="command:fhir_export",
                    include_private=options["include_private"],
                    include_names=options["include_names"],
                ).bundle
            elif options["all_instruments"]:
                result = fhir_services.instruments_bundle(
                    Instrument.objects.exclude(status=InstrumentStatus.RETIRED)
                    .select_related("practice")
                    .order_by("key", "version")
                )
            else:
                versions = Instrument.objects.filter(key=options["instrument"]).order_by("-version")
                if options["instrument_version"]:
                    versions = versions.filter(version=options["instrument_version"])
                instrument = versions.select_related("practice").first()
                if instrument is None:
                    raise CommandError(f"No instrument {options['instrument']!r} here.")
                result = fhir_services.questionnaire_of(instrument)
        text = json.dumps(result, ensure_ascii=False, indent=2)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)
