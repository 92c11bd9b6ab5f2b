"""Report verbs: ask for one (or a batch), render it, retry, release to the portal, withdraw."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from clients.models import Couple, CoupleStatus, PortalState
from practice import audit, mail
from practice.celery import REQUEUE_QUIET_SECONDS
from practice.models import Practice, User
from reports import render, snapshot
from reports.models import Report, ReportBatch, ReportKind, ReportStatus

log = logging.getLogger(__name__)

# A report still "rendering" after this long lost its worker; the sweeper requeues it.
STALE_RENDERING = timedelta(minutes=10)
MAX_ATTEMPTS = 3
MAX_PERIOD = timedelta(days=3 * 366)


def _validate_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationError({"period_end": _("The end of the period is before its start.")})
    if end - start > MAX_PERIOD:
        raise ValidationError({"period_start": _("A report covers at most three years.")})
    if end > timezone.localdate() + timedelta(days=1):
        raise ValidationError({"period_end": _("The period cannot end in the future.")})


def _queue(report: Report) -> None:
    from reports.tasks import render_report

    render_report.delay_on_commit(practice_id=report.practice_id, report_id=report.pk)


@transaction.atomic
def request_report(
    *,
    couple: Couple,
    kind: str,
    period_start: date,
    period_end: date,
    actor: User | None,
    language: str = "en",
    batch: ReportBatch | None = None,
    automatic: bool = False,
    request: HttpRequest | None = None,
) -> Report:
    """Create a queued report; rendering starts after commit."""
    _validate_period(period_start, period_end)
    report = Report.objects.create(
        practice=couple.practice,
        couple=couple,
        kind=kind,
        period_start=period_start,
        period_end=period_end,
        language=language,
        batch=batch,
        automatic=automatic,
        created_by=actor,
    )
    audit.record(
        "report.request",
        request=request,
        actor=actor,
        practice=couple.practice,
        target=report,
        couple=str(couple.uuid),
        kind=kind,
    )
    _queue(report)
    return report


@dataclass(frozen=True)
class BatchProgress:
    counts: dict[str, int]  # reports by status
    total: int

    @property
    def done(self) -> int:
        """Reports that will not change any more: ready or failed."""
        return self.counts[ReportStatus.READY] + self.counts[ReportStatus.FAILED]

    @property
    def finished(self) -> bool:
        return self.done == self.total


def batch_progress(reports: list[Report]) -> BatchProgress:
    """How far a batch has got, from the reports of it the reader may see."""
    counts = {status: sum(r.status == status for r in reports) for status in ReportStatus.values}
    return BatchProgress(counts, len(reports))


@transaction.atomic
def request_batch(
    *,
    couples: list[Couple],
    practice: Practice,
    kind: str,
    period_start: date,
    period_end: date,
    actor: User,
    language: str = "en",
    request: HttpRequest | None = None,
) -> ReportBatch:
    """One report per couple, one task per report, followed as a batch."""
    _validate_period(period_start, period_end)
    if not couples:
        raise ValidationError(_("There are no active couples on your caseload."))
    batch = ReportBatch.objects.create(
        practice=practice,
        kind=kind,
        period_start=period_start,
        period_end=period_end,
        created_by=actor,
    )
    for couple in couples:
        request_report(
            couple=couple,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            actor=actor,
            language=language,
            batch=batch,
            request=request,
        )
    return batch


def generate(report_id: int) -> Report | None:
    """Render one report: claim it, freeze its data, draw the PDF, store it privately.

    A duplicate delivery finds the report already claimed and does nothing.
    A failure is recorded on the report with a message safe to show staff.
    """
    claimed = Report.objects.filter(pk=report_id, status=ReportStatus.QUEUED).update(
        status=ReportStatus.RENDERING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        error="",
    )
    if not claimed:
        return None
    report = Report.objects.select_related("couple", "practice").get(pk=report_id)
    try:
        with translation.override(report.language):
            frozen = snapshot.build(report)
        Report.objects.filter(pk=report.pk).update(snapshot=frozen)
        pdf = render.render(frozen)
    except Exception as exc:
        log.exception("report %s failed to render", report.uuid)
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.FAILED,
            finished_at=timezone.now(),
            error=_(
                "The report could not be drawn (%(error)s). Try again; if it fails again, "
                "contact support with the report id."
            )
            % {"error": type(exc).__name__},
        )
        return Report.objects.get(pk=report.pk)
    digest = hashlib.sha256(pdf).hexdigest()
    name = f"{report.practice.uuid}/{report.uuid}.pdf"
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.file:
            locked.file.delete(save=False)
        locked.file.save(name, ContentFile(pdf), save=False)
        locked.size = len(pdf)
        locked.sha256 = digest
        locked.status = ReportStatus.READY
        locked.finished_at = timezone.now()
        locked.save(update_fields=["file", "size", "sha256", "status", "finished_at"])
    log.info("report %s ready (%d bytes)", report.uuid, len(pdf))
    return locked


@transaction.atomic
def retry(report: Report, *, actor: User, request: HttpRequest | None = None) -> Report:
    """Queue a failed report again."""
    updated = Report.objects.filter(pk=report.pk, status=ReportStatus.FAILED).update(
        status=ReportStatus.QUEUED, error=""
    )
    if updated:
        audit.record("report.retry", request=request, actor=actor, target=report)
        _queue(report)
    report.refresh_from_db()
    return report


def release(report: Report, *, actor: User, request: HttpRequest | None = None) -> Report:
    """Make a ready couple report downloadable in the portal and tell the partners."""
    if report.kind != ReportKind.COUPLE:
        raise ValidationError(_("Only the couple version of a report can be given to the couple."))
    if report.status != ReportStatus.READY:
        raise ValidationError(_("Only a ready report can be released."))
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, released_at__isnull=True).update(
            released_at=timezone.now(), released_by=actor
        )
        if not updated:
            report.refresh_from_db()
            return report
        audit.record("report.release", request=request, actor=actor, target=report)
        from reports.tasks import notify_release

        notify_release.delay_on_commit(practice_id=report.practice_id, report_id=report.pk)
    report.refresh_from_db()
    return report


def email_partners_about(report: Report) -> int:
    """Tell the partners a report is waiting in their portal (no content). Returns emails sent."""
    sent = 0
    for partner in report.couple.partners.filter(
        portal_state__in=[PortalState.INVITED, PortalState.ACTIVE]
    ):
        try:
            mail.send(
                to=partner.email,
                template="reports/email/released",
                context={"partner": partner},
                language=partner.language,
                practice=report.practice,
            )
            sent += 1
        except Exception as exc:
            log.warning("report email to partner %s failed: %s", partner.uuid, type(exc).__name__)
    return sent


@transaction.atomic
def withdraw(report: Report, *, actor: User, request: HttpRequest | None = None) -> Report:
    """Take a released report out of the portal."""
    if Report.objects.filter(pk=report.pk, released_at__isnull=False).update(
        released_at=None, released_by=None
    ):
        audit.record("report.withdraw", request=request, actor=actor, target=report)
    report.refresh_from_db()
    return report


def requeue_stale(now: timezone.datetime | None = None) -> int:
    """Reports whose worker died mid-render: queue again, or fail after a few attempts (beat)."""
    now = now or timezone.now()
    count = 0
    with scopes_disabled():
        stale = list(
            Report.objects.filter(
                status=ReportStatus.RENDERING, started_at__lt=now - STALE_RENDERING
            ).select_related("practice")
        )
    for report in stale:
        with scope(practice=report.practice):
            if report.attempts >= MAX_ATTEMPTS:
                Report.objects.filter(pk=report.pk, status=ReportStatus.RENDERING).update(
                    status=ReportStatus.FAILED,
                    finished_at=now,
                    error=_("Rendering stopped %(n)d times before finishing.")
                    % {"n": report.attempts},
                )
            elif Report.objects.filter(pk=report.pk, status=ReportStatus.RENDERING).update(
                status=ReportStatus.QUEUED
            ):
                with transaction.atomic():
                    _queue(report)
                count += 1
    # Queued reports whose task the broker lost.
    with scopes_disabled():
        lost = list(
            Report.objects.filter(
                status=ReportStatus.QUEUED, created_at__lt=now - STALE_RENDERING
            ).values_list("practice_id", "pk")
        )
    from reports.tasks import render_report

    for practice_id, report_id in lost:
        # Once per quiet period each, so a long queue is not re-sent on every run.
        if not cache.add(f"requeued:report:{report_id}", 1, REQUEUE_QUIET_SECONDS):
            continue
        render_report.delay(practice_id=practice_id, report_id=report_id)
        count += 1
    return count


def monthly_reports(today: date) -> int:
    """On the first of the month, a clinician report of the month before for opted-in couples."""
    if today.day != 1:
        return 0
    end = today - timedelta(days=1)
    start = end.replace(day=1)
    created = 0
    with scopes_disabled():
        couples = list(
            Couple.objects.filter(monthly_report=True, status=CoupleStatus.ACTIVE).select_related(
                "practice"
            )
        )
    for couple in couples:
        with scope(practice=couple.practice):
            exists = Report.objects.filter(
                couple=couple, automatic=True, period_start=start, period_end=end
            ).exists()
            if not exists:
                request_report(
                    couple=couple,
                    kind=ReportKind.CLINICIAN,
                    period_start=start,
                    period_end=end,
                    actor=None,
                    automatic=True,
                )
                created += 1
    return created
