"""Erasing a whole practice: its clients' data, files, instruments, members and settings.

The apps that hold the practice's rows and files are told through
``practice_erasing`` (inside the transaction) and answer with counts. What
remains is the practice row itself, renamed and emptied, because its
append-only audit trail refers to it; that trail holds ids, counts and staff
addresses, never a client's name or answer.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from practice import audit
from practice.models import ApiToken, Membership, Practice, StaffInvitation, User

# Sent with ``practice=``; receivers remove their app's rows and files of the practice and
# return {what: count}. They run in app order (clients, assessments, reports).
practice_erasing = Signal()

ERASED_NAME = "Erased practice"


def confirms(typed: str, expected: str) -> bool:
    """Whether a typed confirmation matches: the same text, ignoring outer spaces."""
    return bool(expected.strip()) and typed.strip() == expected.strip()


def delete_file_after_commit(name: str) -> None:
    """Remove a stored file once the erasing transaction has committed (not before: a
    rolled-back erasure must not lose files whose rows are still there)."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


@transaction.atomic
def erase_practice(
    practice: Practice, *, actor: User, confirmation: str, request: HttpRequest | None = None
) -> dict[str, Any]:
    """Erase everything the practice holds after its name was typed to confirm; audited."""
    if not confirms(confirmation, practice.name):
        raise ValidationError(
            {"confirmation": _("Type the practice's name exactly as shown to confirm.")}
        )
    counts: Counter[str] = Counter()
    for _receiver, answer in practice_erasing.send(sender=Practice, practice=practice):
        counts.update(answer or {})
    counts["members"] = Membership.objects.filter(practice=practice).count()
    Membership.objects.filter(practice=practice).delete()
    counts["api_tokens"] = ApiToken.objects.filter(practice=practice).count()
    ApiToken.objects.filter(practice=practice).delete()
    # Invitations name people (an address, a name): they go too.
    counts["staff_invitations"] = StaffInvitation.objects.filter(practice=practice).count()
    StaffInvitation.objects.filter(practice=practice).delete()
    if practice.logo:
        delete_file_after_commit(practice.logo.name)  # type: ignore[arg-type]
        counts["files"] += 1
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Practice), object_id=str(practice.pk)
    ).delete()
    tag = uuid.uuid4().hex[:12]
    Practice.objects.filter(pk=practice.pk).update(
        name=ERASED_NAME,
        slug=f"erased-{tag}",
        display_name="",
        logo="",
        support_resources="",
        contribute_to_norms=False,
        erased_at=timezone.now(),
    )
    audit.record(
        "practice.erase",
        request=request,
        actor=actor,
        practice=practice,
        target=practice,
        **counts,  # type: ignore[arg-type]
    )
    return dict(counts)
