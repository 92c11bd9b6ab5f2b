"""Raising, acknowledging and resolving alerts. Alerts hold references, never answers."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import results, stats
from assessments.models import (
    ALERT_SEVERITY,
    Alert,
    AlertKind,
    AlertStatus,
    AssignmentStatus,
    Occurrence,
    Response,
    ResponseState,
)
from practice import audit, mail
from practice.models import Membership, Practice, Role, User

log = logging.getLogger(__name__)

# Overdue by this many days raises an alert.
OVERDUE_ALERT_AFTER = timedelta(days=3)
# Totals this far apart (as a share of the scale's range) are a large disagreement.
DISAGREEMENT_SHARE = 0.25


def _raise(
    *,
    practice: Practice,
    couple_id: int,
    kind: str,
    dedupe_key: str,
    partner_id: int | None = None,
    response: Response | None = None,
    occurrence: Occurrence | None = None,
    details: dict[str, Any] | None = None,
) -> Alert | None:
    """Create the alert unless this cause already raised one; returns it when new."""
    if Alert.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                practice=practice,
                couple_id=couple_id,
                partner_id=partner_id,
                kind=kind,
                severity=ALERT_SEVERITY[kind],
                response=response,
                occurrence=occurrence,
                dedupe_key=dedupe_key,
                details=details or {},
            )
    except IntegrityError:
        return None  # raised concurrently by a duplicate delivery
    audit.record("alert.raise", practice=practice, target=alert, kind=kind)
    if kind == AlertKind.SAFETY:
        # Sent by a worker: a slow mail server must not hold up the partner's submission.
        from assessments.tasks import notify_alert

        notify_alert.delay_on_commit(practice_id=practice.pk, alert_id=alert.pk)
    return alert


def raise_item_alerts(response: Response) -> list[Alert]:
    """Alerts from the instrument's item rules (the safety screen), raised at submission."""
    raised = []
    for hit in response.instrument.plan.score(response.answers).alerts:
        kind = AlertKind.SAFETY if hit.kind == "safety" else AlertKind.CLINICAL
        alert = _raise(
            practice=response.practice,
            couple_id=response.couple_id,
            partner_id=response.partner_id,
            kind=kind,
            dedupe_key=f"item:{response.uuid}:{hit.key}",
            response=response,
            details={"rule": hit.key, "instrument": response.instrument.key},
        )
        if alert is not None:
            raised.append(alert)
    return raised


def after_scoring(response: Response) -> None:
    """Alerts that need scores: reliable deterioration, large disagreement; close overdue."""
    from assessments.services.change import partner_change

    instrument = response.instrument
    total = instrument.total_key
    change = partner_change(response.partner, instrument, total)
    if change.points and change.points[-1].response_uuid == str(response.uuid):
        latest = change.points[-1]
        deteriorated_overall = change.change_class == stats.ChangeClass.DETERIORATED
        higher_is_better = instrument.direction(total) == "higher_is_better"
        step = latest.rci_from_previous
        deteriorated_step = step is not None and (
            (-step if higher_is_better else step) > stats.RELIABLE
        )
        if deteriorated_overall or deteriorated_step:
            _raise(
                practice=response.practice,
                couple_id=response.couple_id,
                partner_id=response.partner_id,
                kind=AlertKind.DETERIORATION,
                dedupe_key=f"deterioration:{response.uuid}",
                response=response,
                details={
                    "instrument": instrument.key,
                    "rci": round(step if deteriorated_step else change.rci or 0.0, 2),
                },
            )
    occurrence = Occurrence.objects.get(pk=response.occurrence_id)
    if occurrence.is_complete:
        _check_disagreement(occurrence)
        resolve_automatically(occurrence)


def _check_disagreement(occurrence: Occurrence) -> None:
    pair = list(
        Response.objects.filter(occurrence=occurrence, state=ResponseState.SUBMITTED)
        .select_related("partner")
        .order_by("partner__position")
    )
    if len(pair) != 2:
        return
    instrument = occurrence.instrument
    comparison = results.couple_result(
        instrument.definition, instrument.plan, pair[0].answers, pair[1].answers
    )
    if comparison is None or comparison.total.difference is None:
        return
    low, high = instrument.plan.scale_bounds(comparison.total_key)
    share = comparison.total.difference / (high - low)
    many_gaps = len(comparison.flagged) >= max(3, len(comparison.items) // 3)
    if share >= DISAGREEMENT_SHARE or many_gaps:
        _raise(
            practice=occurrence.practice,
            couple_id=occurrence.couple_id,
            kind=AlertKind.DISAGREEMENT,
            dedupe_key=f"disagreement:{occurrence.uuid}",
            occurrence=occurrence,
            details={
                "instrument": instrument.key,
                "flagged_items": len(comparison.flagged),
                "total_gap_share": round(share, 2),
            },
        )


def resolve_automatically(occurrence: Occurrence) -> None:
    """A form that was overdue and is now complete no longer needs attention."""
    Alert.objects.filter(
        occurrence=occurrence,
        kind=AlertKind.OVERDUE,
        status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED],
    ).update(
        status=AlertStatus.RESOLVED,
        resolved_at=timezone.now(),
        resolution_note="Completed by the couple.",
    )


def raise_overdue_alerts(today: date) -> int:
    """One alert per form overdue for a few days (beat)."""
    raised = 0
    with scopes_disabled():
        late = list(
            Occurrence.objects.filter(
                cancelled=False,
                submitted__lt=F("expected"),
                due_date__lte=today - OVERDUE_ALERT_AFTER,
                couple__status="active",
                # A paused or cancelled assignment is not waiting on anyone (as for reminders).
                assignment__status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.FINISHED],
            ).select_related("practice")
        )
    for occurrence in late:
        with scope(practice=occurrence.practice):
            alert = _raise(
                practice=occurrence.practice,
                couple_id=occurrence.couple_id,
                kind=AlertKind.OVERDUE,
                dedupe_key=f"overdue:{occurrence.uuid}",
                occurrence=occurrence,
                details={
                    "instrument": occurrence.instrument.key,
                    "due_date": occurrence.due_date.isoformat(),
                },
            )
            raised += alert is not None
    return raised


def recipients(alert: Alert) -> list[User]:
    """Who is told about an alert: the couple's clinicians, or the owners if it has none."""
    clinicians = list(alert.couple.clinicians.filter(is_active=True))
    if clinicians:
        return clinicians
    owners = Membership.objects.filter(role=Role.OWNER).select_related("user")
    return [m.user for m in owners if m.user.is_active]


def notify_clinicians(alert: Alert) -> None:
    """Email that there is an alert; the email says nothing about whom or what."""
    with scope(practice=alert.practice):
        url = mail_url(alert)
        for user in recipients(alert):
            try:
                mail.send(
                    to=user.email,
                    template="assessments/email/alert",
                    context={"user": user, "url": url},
                    practice=alert.practice,
                )
            except Exception as exc:
                log.warning("alert email to user %s failed: %s", user.pk, type(exc).__name__)


def mail_url(alert: Alert) -> str:
    from django.conf import settings

    return settings.SITE_URL + reverse("alerts", kwargs={"practice_slug": alert.practice.slug})


@transaction.atomic
def acknowledge(alert: Alert, *, actor: User, request: HttpRequest | None = None) -> Alert:
    if alert.status == AlertStatus.OPEN:
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
        audit.record("alert.acknowledge", request=request, actor=actor, target=alert)
    return alert


@transaction.atomic
def resolve(alert: Alert, *, actor: User, note: str, request: HttpRequest | None = None) -> Alert:
    if alert.status != AlertStatus.RESOLVED:
        now = timezone.now()
        alert.status = AlertStatus.RESOLVED
        alert.acknowledged_at = alert.acknowledged_at or now
        alert.acknowledged_by = alert.acknowledged_by or actor
        alert.resolved_at = now
        alert.resolved_by = actor
        alert.resolution_note = note.strip()
        alert.save()
        audit.record("alert.resolve", request=request, actor=actor, target=alert)
    return alert
