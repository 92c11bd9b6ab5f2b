"""Loading the built-in library and publishing practice instruments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from assessments import definition as defn
from assessments.models import Instrument, InstrumentStatus, Response
from practice import audit
from practice.models import Practice, User

LIBRARY = Path(__file__).resolve().parent.parent / "library"


class InstrumentChanged(Exception):
    """A definition changed under a version that people have already answered."""


def library_definitions() -> list[dict[str, Any]]:
    """The built-in definitions shipped with the project, validated."""
    return [defn.validate(json.loads(path.read_text())) for path in sorted(LIBRARY.glob("*.json"))]


def sync_library() -> list[Instrument]:
    """Make the database's built-in instruments match the shipped files.

    A version nobody has answered is updated in place; a changed version that
    has answers is refused (bump the version instead). Older versions of a
    shipped key are retired: nothing new is assigned on them, while everything
    already assigned or answered on them keeps its version (answers never move).
    """
    synced = []
    # Built-ins are shared by every practice; this runs outside any request.
    with scopes_disabled(), transaction.atomic():
        for definition in library_definitions():
            digest = defn.digest(definition)
            instrument = Instrument.objects.filter(
                practice__isnull=True, key=definition["key"], version=definition["version"]
            ).first()
            if instrument is None:
                instrument = Instrument.objects.create(
                    key=definition["key"],
                    version=definition["version"],
                    title=defn.localized(definition["title"], "en", definition["default_language"]),
                    definition=definition,
                    digest=digest,
                    status=InstrumentStatus.PUBLISHED,
                    published_at=timezone.now(),
                )
            elif instrument.digest != digest:
                if Response.objects.filter(instrument=instrument).exists():
                    raise InstrumentChanged(
                        f"{definition['key']} v{definition['version']} has answers; "
                        "publish the change as a new version"
                    )
                instrument.definition = definition
                instrument.digest = digest
                instrument.title = defn.localized(
                    definition["title"], "en", definition["default_language"]
                )
                instrument.save()
            Instrument.objects.filter(
                practice__isnull=True,
                key=definition["key"],
                version__lt=definition["version"],
                status=InstrumentStatus.PUBLISHED,
            ).update(status=InstrumentStatus.RETIRED)
            synced.append(instrument)
    return synced


def latest_published(key: str) -> Instrument | None:
    """The newest published version of an instrument visible in the current scope."""
    return Instrument.objects.published().filter(key=key).order_by("-version").first()


@transaction.atomic
def upload(
    *,
    practice: Practice,
    actor: User,
    definition: Any,
    request: HttpRequest | None = None,
    action: str = "instrument.upload",
) -> Instrument:
    """Store a practice's own definition as a draft (validated; raises DefinitionError).

    ``action`` names the audit event: an upload, or a save from the form builder.
    """
    definition = defn.validate(definition)
    # A practice may never reuse a built-in key: scores, norms and the caseload go by key.
    builtin_clash = Instrument.objects.filter(key=definition["key"], practice__isnull=True).exists()
    existing = Instrument.objects.filter(
        key=definition["key"], version=definition["version"], practice=practice
    ).first()
    if builtin_clash:
        raise defn.DefinitionError(
            [defn.Problem("key", "is the key of a built-in instrument; choose another")]
        )
    if existing is not None and existing.status != InstrumentStatus.DRAFT:
        raise defn.DefinitionError(
            [defn.Problem("version", "this version is already published; raise the version")]
        )
    fields = {
        "title": defn.localized(definition["title"], "en", definition["default_language"]),
        "definition": definition,
        "digest": defn.digest(definition),
        "created_by": actor,
    }
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        instrument = existing
    else:
        instrument = Instrument.objects.create(
            practice=practice, key=definition["key"], version=definition["version"], **fields
        )
    audit.record(action, request=request, actor=actor, practice=practice, target=instrument)
    return instrument


@transaction.atomic
def publish(
    instrument: Instrument, *, actor: User, request: HttpRequest | None = None
) -> Instrument:
    """Make a practice draft assignable. Older published versions are retired.

    An imported questionnaire whose scales step is not done yet is refused
    (ValidationError).
    """
    if instrument.status != InstrumentStatus.DRAFT:
        return instrument
    if instrument.scales_pending:
        raise ValidationError(
            _("Choose its scales first: an imported questionnaire is published after that step.")
        )
    Instrument.objects.filter(
        practice=instrument.practice, key=instrument.key, status=InstrumentStatus.PUBLISHED
    ).update(status=InstrumentStatus.RETIRED)
    instrument.status = InstrumentStatus.PUBLISHED
    instrument.published_at = timezone.now()
    instrument.save(update_fields=["status", "published_at"])
    audit.record("instrument.publish", request=request, actor=actor, target=instrument)
    return instrument


@transaction.atomic
def discard_draft(
    instrument: Instrument, *, actor: User, request: HttpRequest | None = None
) -> None:
    """Delete a draft nobody can have answered."""
    if instrument.status == InstrumentStatus.DRAFT:
        audit.record("instrument.discard", request=request, actor=actor, target=instrument)
        instrument.delete()
