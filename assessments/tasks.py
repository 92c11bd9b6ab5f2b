"""Celery tasks of the assessment engine: thin wrappers around services."""

from __future__ import annotations

from django.core.cache import cache
from django.db import OperationalError as DatabaseOperationalError
from django.utils import timezone

from assessments.services import alerts, assignments, change, scoring
from practice.celery import REQUEUE_QUIET_SECONDS, app


# A lock conflict with a concurrent transaction is worth another try, not a lost score.
@app.task(acks_late=True, autoretry_for=(DatabaseOperationalError,), retry_backoff=2, max_retries=5)
def score_response(*, practice_id: int, response_id: int) -> None:
    """Score one submission (runs in the practice's scope; repeats are harmless)."""
    scoring.score(response_id)


@app.task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def notify_alert(*, practice_id: int, alert_id: int) -> None:
    """Tell the couple's clinicians that there is an alert (no content in the email)."""
    from assessments.models import Alert

    alert = Alert.objects.select_related("practice", "couple").filter(pk=alert_id).first()
    if alert is not None:
        alerts.notify_clinicians(alert)


@app.task
def sweep_unscored() -> int:
    """Queue scoring again for submissions the broker lost or a dead worker dropped.

    Each one is queued again at most once per ``REQUEUE_QUIET`` for each of its
    scoring attempts, so a backlog (a worker down for an hour) is not re-sent every
    minute on top of itself, while a failed one's next try waits only for its backoff.
    """
    queued = 0
    for practice_id, response_id, attempts in scoring.unscored_ids():
        key = f"requeued:response:{response_id}:{attempts}"
        if not cache.add(key, 1, REQUEUE_QUIET_SECONDS):
            continue
        score_response.delay(practice_id=practice_id, response_id=response_id)
        queued += 1
    return queued


@app.task
def sweep_alert_emails() -> int:
    """Queue the safety-alert emails whose task the broker never got (beat, every minute)."""
    queued = 0
    for practice_id, alert_id in alerts.unnotified_alerts():
        if cache.add(f"requeued:alert:{alert_id}", 1, REQUEUE_QUIET_SECONDS):
            notify_alert.delay(practice_id=practice_id, alert_id=alert_id)
            queued += 1
    return queued


@app.task
def open_due_occurrences() -> int:
    """Open the next occurrence of recurring assignments that have come due."""
    return assignments.create_due_occurrences(timezone.localdate())


@app.task
def send_reminders() -> int:
    """Email partners about forms due tomorrow or overdue."""
    return assignments.send_reminders(timezone.localdate())


@app.task
def raise_overdue_alerts() -> int:
    return alerts.raise_overdue_alerts(timezone.localdate())


@app.task(soft_time_limit=600, time_limit=900)
def estimate_norms() -> int:
    """Refresh pooled baseline SD and reliability estimates."""
    return change.estimate_norms()
