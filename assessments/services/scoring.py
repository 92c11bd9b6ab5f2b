"""Turning submitted responses into Score rows (idempotent), and the sweeper."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from assessments import summary
from assessments.models import Response, ResponseState, Score, ScoringError
from assessments.scoring_rules import SCORING_VERSION, Result

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
        Score(  # type: ignore[misc]
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


# Tries before a submission that will not score is left for a person, and the wait
# before each next try (the sweeper looks every minute).
MAX_SCORING_ATTEMPTS = 5
SCORING_BACKOFF = timedelta(minutes=2)
SCORING_BACKOFF_FACTOR = 4


def next_scoring_try(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failures: 2, 8, 32, 128 minutes, then never."""
    if attempts >= MAX_SCORING_ATTEMPTS:
        return None
    return now + SCORING_BACKOFF * SCORING_BACKOFF_FACTOR ** (attempts - 1)


def _error_code(exc: Exception) -> str:
    # A value of the wrong type or shape in the stored answers shows up as one of these.
    if isinstance(exc, KeyError | ValueError | TypeError | AttributeError | ArithmeticError):
        return ScoringError.INVALID_ANSWERS
    return ScoringError.FAILED


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to find the bug, with no values in it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"


def score(response_id: int) -> Response | None:
    """Score one submitted response and raise the alerts its scores call for.

    Harmless to repeat: rows are upserted and alerts are deduplicated. Does
    nothing for a response that is (again) a draft. A response whose answers
    make scoring fail is marked with the error, a "could not score" alert is
    raised once, and the sweeper tries again later, a bounded number of times.
    Database errors (a lock conflict) propagate for the task to retry.
    """
    from assessments.services.alerts import after_scoring, resolve_scoring_failed

    try:
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
                scored_at=timezone.now(),
                scoring_version=SCORING_VERSION,
                scoring_error="",
                scoring_attempts=0,
                scoring_retry_at=None,
            )
            after_scoring(response)
            if response.scoring_error:
                resolve_scoring_failed(response)
            summary.refresh_couple(response.couple_id)
    except DatabaseError:
        raise
    except Exception as exc:
        return _record_failure(response_id, exc)
    log.info("scored response %s", response.uuid)
    return response


def _record_failure(response_id: int, exc: Exception) -> Response | None:
    from assessments.services.alerts import raise_scoring_failed

    now = timezone.now()
    code = _error_code(exc)
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("instrument", "practice")
            .filter(pk=response_id, state=ResponseState.SUBMITTED, scored_at__isnull=True)
            .first()
        )
        if response is None:
            return None
        response.scoring_error = code
        response.scoring_attempts += 1
        response.scoring_retry_at = next_scoring_try(response.scoring_attempts, now)
        response.save(update_fields=["scoring_error", "scoring_attempts", "scoring_retry_at"])
        if raise_scoring_failed(response) is not None:
            summary.refresh_couple(response.couple_id)
    # The exception's text can quote an answer: log its class and where it was raised.
    log.error(
        "scoring response %s failed (%s, %s at %s), attempt %d, %s",
        response.uuid,
        code,
        type(exc).__name__,
        _where(exc),
        response.scoring_attempts,
        "next try at " + response.scoring_retry_at.isoformat()
        if response.scoring_retry_at
        else "left for a person",
    )
    return response


def unscored_ids(now: datetime | None = None) -> list[tuple[int, int, int]]:
    """(practice id, response id, failed attempts) of submissions the sweeper should queue.

    Never tried and unscored past the grace period, or failed before and due
    for their next try; those out of tries wait for a person.
    """
    now = now or timezone.now()
    # The sweeper looks across practices; each task it queues runs in its own scope.
    with scopes_disabled():
        return list(
            Response.objects.filter(state=ResponseState.SUBMITTED, scored_at__isnull=True)
            .filter(
                Q(scoring_error="", submitted_at__lt=now - UNSCORED_GRACE)
                | Q(scoring_retry_at__lte=now)
            )
            .values_list("practice_id", "pk", "scoring_attempts")[:1000]
        )


def retry_failed_scoring(response_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """Give failed submissions fresh tries, due now (after a fix); returns what to queue.

    All of them across practices (``manage.py retry_scoring``), or the given ids.
    """
    # An operator's command after a fix may span practices.
    with scopes_disabled():
        failed = Response.objects.filter(
            state=ResponseState.SUBMITTED, scored_at__isnull=True
        ).exclude(scoring_error="")
        if response_ids is not None:
            failed = failed.filter(pk__in=list(response_ids))
        due = list(failed.values_list("practice_id", "pk"))
        Response.objects.filter(pk__in=[pk for _, pk in due]).update(
            scoring_attempts=0, scoring_retry_at=timezone.now()
        )
    return due


def rescore_all(batch_size: int = 2000) -> int:
    """Score every submitted response again (after a scoring fix), in bulk. Returns the count."""
    done = 0
    # An operator's command after a scoring fix: every practice's responses, by primary key.
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
                summary.refresh({r.couple_id for r in batch})
            done += len(batch)
            last_pk = batch[-1].pk
    return done
