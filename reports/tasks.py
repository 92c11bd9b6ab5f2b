"""Report tasks: they run on the `reports` queue (see CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import Task
from django.core.cache import cache
from django.utils import timezone

from practice.celery import REQUEUE_QUIET_SECONDS, app
from reports import exports, services


@app.task(bind=True, soft_time_limit=240, time_limit=300, max_retries=None)
def render_report(self: Task, *, practice_id: int, report_id: int) -> None:
    """Render one report inside its practice's scope; duplicates do nothing.

    A delivery that finds another renderer's lease still running (the task came
    back after its worker died) tries again once that lease could have lapsed.
    """
    try:
        services.generate(report_id)
    except services.LeaseHeld as held:
        raise self.retry(countdown=held.seconds + 1) from None


@app.task
def notify_release(*, practice_id: int, report_id: int) -> int:
    """Email the partners that a released report is in their portal."""
    from reports.models import Report

    report = (
        Report.objects.select_related("couple", "practice")
        .filter(pk=report_id, released_at__isnull=False)
        .first()
    )
    return services.email_partners_about(report) if report is not None else 0


@app.task
def requeue_stale_reports() -> int:
    """Re-send renders a worker dropped and release emails the broker lost (beat, 15 s)."""
    queued = services.requeue_stale()
    for practice_id, report_id in services.unannounced_releases():
        if cache.add(f"requeued:release:{report_id}", 1, REQUEUE_QUIET_SECONDS):
            notify_release.delay(practice_id=practice_id, report_id=report_id)
            queued += 1
    return queued


@app.task
def monthly_reports() -> int:
    return services.monthly_reports(timezone.localdate())


@app.task(soft_time_limit=3300, time_limit=3600)
def build_export(*, practice_id: int, export_id: int) -> None:
    """Write one whole-practice export inside its practice's scope; duplicates do nothing."""
    exports.build(export_id)


@app.task
def sweep_exports() -> int:
    return exports.sweep()
