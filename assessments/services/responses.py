"""Drafts, submissions and reopening of one partner's answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from assessments import definition as defn
from assessments import summary
from assessments.models import Occurrence, Response, ResponseState, Score
from assessments.services import assignments
from clients.models import Partner
from practice import audit
from practice.models import User

log = logging.getLogger(__name__)


class ResponseClosed(Exception):
    """The response cannot take answers: it is submitted or its occurrence was cancelled."""


@dataclass
class AnswerErrors(Exception):
    """Answers that do not fit the definition, as ``{link_id: code}``.

    Not frozen: Python sets ``__traceback__`` on an exception as it leaves a
    ``with`` block, and a frozen dataclass refuses that with FrozenInstanceError.
    """

    errors: dict[str, str]


def draft_for(occurrence: Occurrence, partner: Partner) -> Response:
    """The partner's response to this occurrence, created as an empty draft if needed."""
    existing = Response.objects.filter(occurrence=occurrence, partner=partner).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Response.objects.create(
                practice=occurrence.practice,
                occurrence=occurrence,
                partner=partner,
                couple=occurrence.couple,
                instrument=occurrence.instrument,
                language=partner.language,
            )
    except IntegrityError:
        # Two tabs opened the form at once; both get the same draft.
        return Response.objects.get(occurrence=occurrence, partner=partner)


def save_answers(response: Response, answers: dict[str, Any]) -> Response:
    """Merge answers into a draft (``None`` clears one). Raises AnswerErrors, ResponseClosed."""
    definition = response.instrument.definition
    errors = defn.answer_problems(definition, answers, complete=False)
    if errors:
        raise AnswerErrors(errors)
    with transaction.atomic():
        locked = (
            Response.objects.select_for_update(of=("self",))
            .select_related("occurrence")
            .get(pk=response.pk)
        )
        if locked.is_submitted or locked.occurrence.cancelled:
            raise ResponseClosed
        merged = dict(locked.answers)
        for link_id, value in answers.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                merged.pop(link_id, None)
            else:
                merged[link_id] = value.strip() if isinstance(value, str) else value
        locked.answers = merged
        locked.updated_at = timezone.now()
        locked.save(update_fields=["answers", "updated_at"])
    return locked


def submit(response: Response, answers: dict[str, Any] | None = None) -> tuple[Response, bool]:
    """Submit a response; returns (response, newly_submitted).

    Idempotent: submitting an already submitted response returns it unchanged
    with ``False`` and does nothing else. Raises AnswerErrors with one code
    per item that is missing or wrong; nothing is saved then.
    """
    from assessments.services.alerts import raise_item_alerts
    from assessments.tasks import score_response

    with transaction.atomic():
        locked = (
            Response.objects.select_for_update(of=("self",))
            .select_related("occurrence", "instrument")
            .get(pk=response.pk)
        )
        if locked.is_submitted:
            return locked, False
        if locked.occurrence.cancelled:
            raise ResponseClosed
        merged = dict(locked.answers)
        if answers:
            problems = defn.answer_problems(locked.instrument.definition, answers, complete=False)
            if problems:
                raise AnswerErrors(problems)
            merged.update({k: v for k, v in answers.items() if v is not None})
        problems = defn.answer_problems(locked.instrument.definition, merged, complete=True)
        if problems:
            raise AnswerErrors(problems)
        # Answers to questions the other answers hid are not part of the submission.
        merged = defn.without_hidden(locked.instrument.definition, merged)
        now = timezone.now()
        locked.answers = merged
        locked.state = ResponseState.SUBMITTED
        locked.submitted_at = now
        locked.updated_at = now
        locked.save(update_fields=["answers", "state", "submitted_at", "updated_at"])
        Occurrence.objects.filter(pk=locked.occurrence_id).update(submitted=F("submitted") + 1)
        assignments.settle(locked.occurrence.assignment_id)
        raise_item_alerts(locked)
        summary.refresh_couple(locked.couple_id)
        audit.record_for_partner(
            "response.submit",
            locked.partner,
            target=locked,
        )
        score_response.delay_on_commit(practice_id=locked.practice_id, response_id=locked.pk)  # type: ignore[attr-defined]
    return locked, True


@transaction.atomic
def reopen(response: Response, *, actor: User, request: HttpRequest | None = None) -> Response:
    """Let the partner change a submitted response. Its scores go until it is submitted again."""
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if not locked.is_submitted:
        return locked
    locked.state = ResponseState.DRAFT
    locked.submitted_at = None
    locked.scored_at = None
    locked.reopened_at = timezone.now()
    locked.save(update_fields=["state", "submitted_at", "scored_at", "reopened_at"])
    Occurrence.objects.filter(pk=locked.occurrence_id).update(submitted=F("submitted") - 1)
    assignments.settle(locked.occurrence.assignment_id)
    Score.objects.filter(response=locked).delete()
    summary.refresh_couple(locked.couple_id)
    audit.record("response.reopen", request=request, actor=actor, target=locked)
    return locked
