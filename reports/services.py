"""Report verbs: ask for one (or a batch), render it, retry, release to the portal, withdraw."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from clients.models import Couple, CoupleStatus, Partner, PortalState
from practice import audit, mail
from practice.models import Practice, User
from practice.storage import STORAGE_ERRORS, describe
from reports import render, snapshot
from reports.models import Report, ReportBatch, ReportError, ReportKind, ReportStatus

log = logging.getLogger(__name__)

# A report queued this long ago and not started: the broker lost its task.
LOST_QUEUED = timedelta(minutes=2)
# The sweeper sends one report again at most this often.
REQUEUE_REPORT_QUIET_SECONDS = 60
MAX_ATTEMPTS = 3
MAX_PERIOD = timedelta(days=3 * 366)


def _language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def _validate_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationError({"period_end": _("The end of the period is before its start.")})
    if end - start > MAX_PERIOD:
        raise ValidationError({"period_start": _("A report covers at most three years.")})
    if end > timezone.localdate() + timedelta(days=1):
        raise ValidationError({"period_end": _("The period cannot end in the future.")})


def _queue(report: Report) -> None:
    from reports.tasks import render_report

    render_report.delay_on_commit(practice_id=report.practice_id, report_id=report.pk)  # type: ignore[attr-defined]


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
    languages = [language]
    if kind == ReportKind.COUPLE:
        # The couple version is drawn again in each other language the partners read.
        for other in sorted(set(couple.partners.values_list("language", flat=True))):
            if other == language:
                continue
            _queue(
                Report.objects.create(
                    practice=couple.practice,
                    couple=couple,
                    kind=kind,
                    period_start=period_start,
                    period_end=period_end,
                    language=other,
                    automatic=automatic,
                    created_by=actor,
                    translation_of=report,
                )
            )
            languages.append(other)
    audit.record(
        "report.request",
        request=request,
        actor=actor,
        practice=couple.practice,
        target=report,
        couple=str(couple.uuid),
        kind=kind,
        languages=languages,
    )
    _queue(report)
    return report


def family(report: Report) -> list[Report]:
    """The report as asked for, then its other languages."""
    primary = report.translation_of or report
    return [primary, *primary.translations.order_by("language")]


def for_reader(report: Report, language: str) -> Report:
    """The ready, released rendering of ``report`` in ``language``, else ``report`` itself.

    Reports from before translations existed have none, so they are served as they are.
    """
    found = (
        Report.objects.filter(
            translation_of=report,
            language=language,
            status=ReportStatus.READY,
            released_at__isnull=False,
        )
        .select_related("couple")
        .first()
    )
    return found or report


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


class LeaseHeld(Exception):
    """Another renderer holds this report's lease; try again once it could have expired."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"lease held for {seconds:.0f} s more")


def lease_seconds() -> int:
    """How long a renderer's claim lasts without renewal (``REPORT_LEASE_SECONDS``)."""
    return int(getattr(settings, "REPORT_LEASE_SECONDS", 20))


def _claim(report_id: int) -> Report | None:
    """Take the report for this renderer: queued, or rendering under an expired lease.

    One conditional UPDATE decides, so of two deliveries exactly one wins. Raises
    LeaseHeld while a live renderer holds it; marks it failed after MAX_ATTEMPTS.
    """
    now = timezone.now()
    claimable = Q(status=ReportStatus.QUEUED) | Q(
        status=ReportStatus.RENDERING, lease_expires_at__lt=now
    )
    claimed = Report.objects.filter(claimable, pk=report_id, attempts__lt=MAX_ATTEMPTS).update(
        status=ReportStatus.RENDERING,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=lease_seconds()),
        attempts=F("attempts") + 1,
        error="",
        error_code="",
    )
    if claimed:
        return Report.objects.select_related("couple", "practice").get(pk=report_id)
    current = Report.objects.filter(pk=report_id).first()
    if current is None or current.status in {ReportStatus.READY, ReportStatus.FAILED}:
        return None  # a duplicate delivery of finished work
    if current.status == ReportStatus.RENDERING and current.lease_expires_at is not None:
        if current.lease_expires_at >= now:
            raise LeaseHeld((current.lease_expires_at - now).total_seconds())
        # Expired, and out of attempts: it kills its renderer every time.
        _fail(current, ReportError.STOPPED, str(current.attempts), expected=current.started_at)
    return None


def _fail(report: Report, code: str, detail: str, *, expected: datetime | None) -> None:
    """Record a failure, unless a newer claim has taken the report since ``expected``."""
    Report.objects.filter(pk=report.pk, status=ReportStatus.RENDERING, started_at=expected).update(
        status=ReportStatus.FAILED,
        finished_at=timezone.now(),
        lease_expires_at=None,
        error_code=code,
        error=detail[:200],
    )


class _Lease:
    """Renews a claim from a background thread while the renderer works.

    The claim is identified by its ``started_at``: a renderer whose claim was
    taken over (its lease expired) finds nothing to renew and nothing to finish.
    """

    def __init__(self, report_id: int, started_at: datetime) -> None:
        self.report_id, self.started_at = report_id, started_at
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{report_id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        period = max(1.0, lease_seconds() / 3)
        try:
            while not self._stop.wait(period):
                try:
                    # A thread of our own: its query runs outside the task's scope, by
                    # primary key.
                    with scopes_disabled():
                        Report.objects.filter(
                            pk=self.report_id,
                            status=ReportStatus.RENDERING,
                            started_at=self.started_at,
                        ).update(
                            lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())
                        )
                except DatabaseError as exc:
                    # The render goes on; if renewals keep failing the lease lapses and
                    # another delivery takes over, which is the safe side.
                    log.warning("report %s lease not renewed: %s", self.report_id, exc)
        finally:
            connection.close()


def _on_local_disk() -> bool:
    try:
        default_storage.path("")
    except NotImplementedError:
        return False
    return True


def _store(report: Report, pdf: bytes) -> str:
    """Put the PDF in private storage under its final name, complete or not at all.

    On disk it is written to a temporary name in the same folder, flushed and
    renamed into place, so a reader never sees half a file and a failure
    leaves none behind. Returns the stored name.
    """
    name = f"{report.practice.uuid}/{report.uuid}.pdf"
    try:
        final = Path(default_storage.path(name))
    except NotImplementedError:
        # An object store: one PUT (or a multipart upload completed at the end) is
        # whole or nothing. The name it returns may carry a suffix when a renderer
        # that was taken over stored the same report first.
        return default_storage.save(name, ContentFile(pdf))
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{report.uuid}.", suffix=".part", dir=final.parent
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(pdf)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return name


def generate(report_id: int) -> Report | None:
    """Render one report: claim it, freeze its data, draw the PDF, store it privately.

    A duplicate delivery finds the report claimed or finished and does nothing
    (or raises LeaseHeld while another renderer is alive). A failure is recorded
    on the report with a code whose message is safe to show staff.
    """
    report = _claim(report_id)
    if report is None:
        return None
    claim = report.started_at
    with _Lease(report.pk, claim):  # type: ignore[arg-type]
        try:
            with translation.override(report.language):
                frozen = snapshot.build(report)
            Report.objects.filter(pk=report.pk, started_at=claim).update(snapshot=frozen)
            pdf = render.render(frozen)
        except Exception as exc:
            log.exception("report %s failed to render", report.uuid)
            _fail(report, ReportError.RENDER, type(exc).__name__, expected=claim)
            return Report.objects.get(pk=report.pk)
        try:
            name = _store(report, pdf)
        except STORAGE_ERRORS as exc:
            # Full disk (ENOSPC), read-only (EROFS), over a size limit (EFBIG), no
            # permission; or the object store refused or could not be reached.
            detail = describe(exc)
            log.error("report %s could not be stored: %s", report.uuid, detail)
            _fail(report, ReportError.STORAGE, detail, expected=claim)
            return Report.objects.get(pk=report.pk)
        digest = hashlib.sha256(pdf).hexdigest()
        with transaction.atomic():
            finished = Report.objects.filter(
                pk=report.pk, status=ReportStatus.RENDERING, started_at=claim
            ).update(
                file=name,
                size=len(pdf),
                sha256=digest,
                status=ReportStatus.READY,
                finished_at=timezone.now(),
                lease_expires_at=None,
            )
    if not finished:
        # Our lease lapsed and another renderer took over: its file wins. On disk it
        # has the same name; in an object store every save has a name of its own,
        # so ours would never be referenced: remove it.
        log.warning("report %s was taken over before it finished", report.uuid)
        if not _on_local_disk():
            default_storage.delete(name)
        return None
    log.info("report %s ready (%d bytes)", report.uuid, len(pdf))
    return Report.objects.get(pk=report.pk)


@transaction.atomic
def retry(report: Report, *, actor: User, request: HttpRequest | None = None) -> Report:
    """Queue again a report that failed or whose renderer went quiet; it gets fresh attempts."""
    updated = Report.objects.filter(
        Q(status=ReportStatus.FAILED)
        | Q(status=ReportStatus.RENDERING, lease_expires_at__lt=timezone.now()),
        pk=report.pk,
    ).update(
        status=ReportStatus.QUEUED,
        error="",
        error_code="",
        attempts=0,
        lease_expires_at=None,
        started_at=timezone.now(),  # queued again now: the lost-task sweeper counts from here
    )
    if updated:
        audit.record("report.retry", request=request, actor=actor, target=report)
        _queue(report)
    report.refresh_from_db()
    return report


def release(report: Report, *, actor: User, request: HttpRequest | None = None) -> Report:
    """Make a ready couple report downloadable in the portal and tell the partners.

    Every language it was drawn in goes out together, and only once all are ready:
    a partner is never handed the other partner's language instead of their own.
    """
    report = report.translation_of or report
    if report.kind != ReportKind.COUPLE:
        raise ValidationError(_("Only the couple version of a report can be given to the couple."))
    if report.status != ReportStatus.READY:
        raise ValidationError(_("Only a ready report can be released."))
    waiting = [r for r in family(report)[1:] if r.status != ReportStatus.READY]
    if waiting:
        raise ValidationError(
            _("The report is not ready in every partner's language yet (%(languages)s).")
            % {"languages": ", ".join(_language_name(r.language) for r in waiting)}
        )
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, released_at__isnull=True).update(
            released_at=timezone.now(), released_by=actor
        )
        if not updated:
            report.refresh_from_db()
            return report
        Report.objects.filter(translation_of=report).update(
            released_at=timezone.now(), released_by=actor
        )
        audit.record("report.release", request=request, actor=actor, target=report)
        from reports.tasks import notify_release

        notify_release.delay_on_commit(practice_id=report.practice_id, report_id=report.pk)  # type: ignore[attr-defined]
    report.refresh_from_db()
    return report


# A release not announced after this long lost its task; the sweeper sends it.
ANNOUNCE_GRACE = timedelta(minutes=2)


def unannounced_releases(now: datetime | None = None) -> list[tuple[int, int]]:
    """(practice id, report id) of released reports whose email has not gone (the outbox)."""
    now = now or timezone.now()
    # The sweeper looks across practices; each task it queues runs in its own scope.
    with scopes_disabled():
        return list(
            Report.objects.filter(
                released_at__lt=now - ANNOUNCE_GRACE,
                release_notified_at__isnull=True,
                translation_of__isnull=True,  # one email per release, not per language
            ).values_list("practice_id", "pk")[:1000]
        )


def release_audience(report: Report) -> list[Partner]:
    """The partners who will see a released couple report: those with portal access."""
    return list(
        report.couple.partners.filter(
            portal_state__in=[PortalState.INVITED, PortalState.ACTIVE]
        ).order_by("position")
    )


def email_partners_about(report: Report) -> int:
    """Tell the partners a report is waiting in their portal (no content). Returns emails sent.

    Once per release: marked announced after the emails went (a lost worker in
    between means the sweeper announces it again).
    """
    if report.release_notified_at is not None:
        return 0  # a duplicate delivery
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
    Report.objects.filter(pk=report.pk).update(release_notified_at=timezone.now())
    return sent


@transaction.atomic
def withdraw(report: Report, *, actor: User, request: HttpRequest | None = None) -> Report:
    """Take a released report (in every language) out of the portal."""
    report = report.translation_of or report
    if Report.objects.filter(pk=report.pk, released_at__isnull=False).update(
        released_at=None, released_by=None, release_notified_at=None
    ):
        Report.objects.filter(translation_of=report).update(released_at=None, released_by=None)
        audit.record("report.withdraw", request=request, actor=actor, target=report)
    report.refresh_from_db()
    return report


def requeue_stale(now: datetime | None = None) -> int:
    """Send again the reports a worker dropped (beat, every 15 s); each at most once a run.

    Rendering under an expired lease: its renderer died, a new delivery re-claims
    it (or marks it failed after MAX_ATTEMPTS). Queued for a while: the broker lost
    the task. Either is re-sent at most once per quiet period.
    """
    now = now or timezone.now()
    # The sweeper looks across practices; each task it queues runs in its own scope.
    with scopes_disabled():
        stale = Report.objects.filter(
            Q(status=ReportStatus.RENDERING, lease_expires_at__lt=now)
            | Q(status=ReportStatus.QUEUED, started_at__lt=now - LOST_QUEUED)
            | Q(status=ReportStatus.QUEUED, started_at=None, created_at__lt=now - LOST_QUEUED)
        )
        due = dict(stale.values_list("pk", "practice_id")[:1000])
    from reports.tasks import render_report

    count = 0
    for report_id, practice_id in sorted(due.items()):
        if not cache.add(f"requeued:report:{report_id}", 1, REQUEUE_REPORT_QUIET_SECONDS):
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
    # Beat works across practices; each report is requested inside its couple's scope.
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
