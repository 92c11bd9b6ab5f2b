"""Erasing a couple: every answer, score, report, file, portal link and note, for good.

Other apps hold rows and files about a couple; they are told through the
``couple_erasing`` signal (sent inside the erasing transaction, before the rows
go) and answer with counts of what they will remove. The audit trail keeps
only the fact and ids: its rows never held names or answers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal, receiver
from django.http import HttpRequest
from django.utils.translation import gettext as _

from clients.models import AccessLink, Couple, Note, Partner
from practice import audit
from practice.erasure import confirms, practice_erasing
from practice.models import Practice, User

# Sent with ``couple=``; each receiver removes what its app keeps outside the rows the
# couple's deletion cascades to (files, cached images) and returns {what: count}.
couple_erasing = Signal()


def erase_rows(couple: Couple) -> dict[str, int]:
    """Remove the couple and everything of it; returns counts. No audit, no confirmation."""
    counts: Counter[str] = Counter(
        partners=Partner.objects.filter(couple=couple).count(),
        notes=Note.objects.filter(couple=couple).count(),
        portal_links=AccessLink.objects.filter(partner__couple=couple).count(),
    )
    for _receiver, answer in couple_erasing.send(sender=Couple, couple=couple):
        counts.update(answer or {})
    couple.delete()  # cascades to partners, links, notes, assignments, responses, scores...
    return dict(counts)


@transaction.atomic
def erase_couple(
    couple: Couple,
    *,
    actor: User,
    confirmation: str,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """Erase one couple after the couple's label was typed to confirm; audited."""
    if not confirms(confirmation, couple.label):
        raise ValidationError(
            {"confirmation": _("Type the couple's label exactly as shown to confirm.")}
        )
    practice = couple.practice
    counts = erase_rows(couple)
    # The instance keeps its uuid after deletion: the event names the couple by id only.
    audit.record(
        "couple.erase",
        request=request,
        actor=actor,
        practice=practice,
        target=couple,
        **counts,  # type: ignore[arg-type]
    )
    return counts


@receiver(practice_erasing, dispatch_uid="clients-erase-practice")
def _erase_practice_couples(sender: type, practice: Practice, **kwargs: Any) -> dict[str, int]:
    """Every couple of an erased practice goes the way a single erased couple does."""
    counts: Counter[str] = Counter()
    for couple in Couple.objects.filter(practice=practice):
        counts.update(erase_rows(couple))
        counts["couples"] += 1
    return dict(counts)
