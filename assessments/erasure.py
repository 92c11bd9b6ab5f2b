"""What erasing a couple or a practice removes from the assessment engine."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from assessments.history import forget_charts
from assessments.models import (
    Alert,
    Assignment,
    Instrument,
    NormEstimate,
    Response,
    Score,
)
from clients.erasure import couple_erasing
from clients.models import Couple
from practice.erasure import practice_erasing
from practice.models import Practice


@receiver(couple_erasing, dispatch_uid="assessments-erase-couple")
def _erase_couple(sender: type, couple: Couple, **kwargs: Any) -> dict[str, int]:
    """Rows go with the couple (cascade); cached charts, which show names, go here."""
    forget_charts(couple.pk)
    return {
        "assignments": Assignment.objects.filter(couple=couple).count(),
        "responses": Response.objects.filter(couple=couple).count(),
        "scores": Score.objects.filter(couple=couple).count(),
        "alerts": Alert.objects.filter(couple=couple).count(),
    }


@receiver(practice_erasing, dispatch_uid="assessments-erase-practice")
def _erase_practice(sender: type, practice: Practice, **kwargs: Any) -> dict[str, int]:
    """The practice's own instruments and its demo norm pool (its couples are gone by now)."""
    instruments = Instrument.objects.filter(practice=practice)
    count = instruments.count()
    NormEstimate.objects.filter(practice=practice).delete()
    instruments.delete()
    return {"instruments": count}
