"""Turning submitted responses into Score rows (idempotent), and the sweeper."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from assessments.models import Response, ResponseState, Score
from assessments.scoring import SCORING_VERSION, Result

log = logging.getLogger(__name__)

# A submission still unscored after this long is queued again by the sweeper.
UNSCORED_GRACE = timedelta(minutes=2)
_UPDATE_FIELDS = [
    "value",
    "answered",
    "n_items",
    "band",
    "scoring_version",
    "submitted_at",
    "is_total",
    "instrument",
    "instrument_key",
]


def score_rows(response: Response, result: Result) -> list[Score]:
    """Unsaved Score rows for one scored response."""
    return [
        Score(
            practice_id=response.practice_id,
            response=response,
            partner_id=response.partner_id,
            couple_id=response.couple_id,
            instrument_id=response.instrument_id,
            instrument_key=response.instrument.key,
            submitted_at=response.submitted_at,
            scale=scale.key,
            is_total=scale.key == result.total_key,
            value=scale.value,
            answered=scale.answered,
            n_items=scale.n_items,
            band=scale.band or "",
            scoring_version=result.version,
        )
        for scale in result.scales.values()
    ]


def write_scores(rows: Iterable[Score]) -> None:
    """Insert or replace score rows in one statement: re-running changes nothing twice."""
    Score.objects.bulk_create(
        list(rows),
        update_conflicts=True,
        unique_fields=["response", "scale"],
        update_fields=_UPDATE_FIELDS,
        batch_size=2000,
    )


def score(response_id: int) -> Response | None:
    """Score one submitted response and raise the alerts its scores call for.

    Harmless to repeat: rows are upserted and alerts are deduplicated. Does
    nothing for a response that is (again) a draft.
    """
    from assessments.services.alerts import after_scoring

    with transaction.atomic():
        # Lock the response row only: FOR UPDATE on the join would also lock the
        # occurrence both partners share, and two scorings of one form deadlocked.
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("instrument", "occurrence", "practice")
            .filter(pk=response_id)
            .first()
        )
        if response is None or response.state != ResponseState.SUBMITTED:
            return None
        result = response.instrument.plan.score(response.answers)
        write_scores(score_rows(response, result))
        Response.objects.filter(pk=response.pk).update(
            scored_at=timezone.now(), scoring_version=SCORING_VERSION
        )
        after_scoring(response)
    log.info("scored response %s", response.uuid)
    return response


def unscored_ids(now: timezone.datetime | None = None) -> list[tuple[int, int]]:
    """(practice id, response id) of submissions left unscored past the grace period."""
    now = now or timezone.now()
    # The sweeper looks across practices; each task it queues runs in its own scope.
    with scopes_disabled():
        return list(
            Response.objects.filter(
                state=ResponseState.SUBMITTED,
                scored_at__isnull=True,
                submitted_at__lt=now - UNSCORED_GRACE,
            ).values_list("practice_id", "pk")[:1000]
        )


def rescore_all(batch_size: int = 2000) -> int:
    """Score every submitted response again (after a scoring fix), in bulk. Returns the count."""
    done = 0
    with scopes_disabled():
        last_pk = 0
        while True:
            batch = list(
                Response.objects.filter(state=ResponseState.SUBMITTED, pk__gt=last_pk)
                .select_related("instrument")
                # Plans are cached per instrument version: the definition is read once per
                # instrument (on a cache miss), not once per response.
                .defer("instrument__definition")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            rows = []
            for response in batch:
                rows.extend(score_rows(response, response.instrument.plan.score(response.answers)))
            with transaction.atomic():
                write_scores(rows)
                Response.objects.filter(pk__in=[r.pk for r in batch]).update(
                    scored_at=timezone.now(), scoring_version=SCORING_VERSION
                )
            done += len(batch)
            last_pk = batch[-1].pk
    return done
