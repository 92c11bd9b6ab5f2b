"""Import a FHIR R4 Questionnaire as a draft instrument, or a couple's answers from a Bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from assessments import definition as defn
from assessments.fhir import FhirError
from assessments.management.commands._practice import practice_and_owner
from assessments.services import fhir as fhir_services
from assessments.services import instruments as instrument_services


def _read(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"{path}: cannot read it as JSON ({exc})") from None


class Command(BaseCommand):
    help = (
        "Import FILE into the practice: a FHIR Questionnaire becomes a draft instrument "
        "(complete its scales with --scales, or in the owner's Forms page); a Bundle of "
        "QuestionnaireResponses becomes a new couple with those answers, scored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a Questionnaire or a Bundle, as JSON")
        parser.add_argument("--practice", required=True, help="the practice's address name")
        parser.add_argument(
            "--scales", help="a JSON file with the scales step (see docs/instruments.md)"
        )
        parser.add_argument(
            "--publish", action="store_true", help="publish the instrument once its scales are set"
        )
        parser.add_argument("--actor", help="the owner to act as (default: the first owner)")
        parser.add_argument("--label", default="", help="the new couple's label (Bundles)")

    def handle(self, *args: Any, **options: Any) -> None:
        practice, owner = practice_and_owner(options["practice"], options["actor"])
        resource = _read(options["file"])
        spec = _read(options["scales"]) if options["scales"] else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        with scope(practice=practice):
            try:
                if kind == "Bundle" and any(
                    (e.get("resource") or {}).get("resourceType") == "QuestionnaireResponse"
                    for e in resource.get("entry") or []
                ):
                    couple = fhir_services.import_couple(
                        practice=practice, actor=owner, bundle=resource, label=options["label"]
                    )
                    self.stdout.write(f"couple {couple.uuid} imported")
                    return
                if kind != "Bundle":
                    self._questionnaire(practice, owner, resource, spec, options["publish"])
                    return
                if spec is not None:
                    raise CommandError("--scales goes with one Questionnaire, not a Bundle.")
                for entry in resource.get("entry") or []:
                    questionnaire = entry.get("resource") or {}
                    here = fhir_services.already_here(practice, questionnaire)
                    if here is not None:
                        self.stdout.write(f"{here.key} v{here.version} is already here; skipped")
                        continue
                    self._questionnaire(practice, owner, questionnaire, None, options["publish"])
            except FhirError as exc:
                raise CommandError(
                    "nothing was imported:\n" + "\n".join(f"  {r}" for r in exc.refusals)
                ) from None
            except defn.DefinitionError as exc:
                raise CommandError(
                    "nothing was imported; the scales:\n"
                    + "\n".join(f"  {p}" for p in exc.problems)
                ) from None
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None

    def _questionnaire(
        self, practice: Any, owner: Any, resource: Any, spec: Any, publish: bool
    ) -> None:
        instrument = fhir_services.import_questionnaire(
            practice=practice, actor=owner, resource=resource, spec=spec
        )
        for note in instrument.import_notes:
            self.stdout.write(f"note: {note}")
        state = "draft, scales to choose" if instrument.scales_pending else "draft"
        if publish and not instrument.scales_pending:
            instrument_services.publish(instrument, actor=owner)
            state = "published"
        self.stdout.write(f"{instrument.key} v{instrument.version} {state} ({instrument.uuid})")
