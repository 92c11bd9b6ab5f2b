"""Raising, acknowledging and resolving alerts. Alerts hold references, never answers."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import results, stats, summary
from assessments.comparison import compare
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
from assessments.services.change import Change, partner_change
from clients.models import Partner
from practice import audit, batches, mail
from practice.models import Membership, Practice, Role, User

log = logging.getLogger(__name__)

# Overdue by this many days raises an alert.
OVERDUE_ALERT_AFTER = timedelta(days=3)


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
    """Create the alert unless this cause already raised one; returns it when new.

    The caller refreshes the couple's caseload row after its last alert, so that row is
    locked after the alerts' rows, in the same order by every transaction (a couple's
    two partners are scored at once, and may raise the same couple alert).
    """
    if Alert.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                practice=practice,
                couple_id=couple_id,
                partner_id=partner_id,
                kind=kind,
                severity=ALERT_SEVERITY[kind],  # type: ignore[index]
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

        notify_alert.delay_on_commit(practice_id=practice.pk, alert_id=alert.pk)  # type: ignore[attr-defined]
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
    """Alerts that need scores: deterioration, split, large disagreement; close overdue.

    Private screens raise only their own item alerts: they have no change statistics.
    """
    instrument = response.instrument
    if not instrument.is_private:
        change = partner_change(response.partner, instrument, instrument.total_key)
        if change.points and change.points[-1].response_uuid == str(response.uuid):
            _check_deterioration(response, change)
            _check_split(response, change)
    occurrence = Occurrence.objects.get(pk=response.occurrence_id)
    if occurrence.is_complete:
        _check_disagreement(occurrence)
        resolve_automatically(occurrence)


def _unresolved(**filters: Any) -> bool:
    return Alert.objects.filter(**filters).exclude(status=AlertStatus.RESOLVED).exists()


def _norms_details(change: Change) -> dict[str, Any]:
    norms = change.norms.norms
    if norms is None:  # a rule only fires with norms
        return {}
    return {
        "sd": round(norms.sd, 4),
        "reliability": round(norms.reliability, 4),
        "norms": norms.source,
        "n": norms.n,
    }


def _check_deterioration(response: Response, change: Change) -> None:
    """One alert per deterioration episode (stats.deterioration says when one counts)."""
    found = change.deterioration
    if found is None:
        return
    instrument = response.instrument
    scale = instrument.total_key
    # One open alert per partner and measure is enough; a resolved one leaves the
    # episode's key behind, so the same episode never raises again.
    if _unresolved(
        kind=AlertKind.DETERIORATION, partner=response.partner, details__instrument=instrument.key
    ):
        return
    episode = change.points[found.start].response_uuid
    _raise(
        practice=response.practice,
        couple_id=response.couple_id,
        partner_id=response.partner_id,
        kind=AlertKind.DETERIORATION,
        dedupe_key=f"deterioration:{response.partner.uuid}:{instrument.key}:{scale}:{episode}",
        response=response,
        details={
            "instrument": instrument.key,
            "scale": scale,
            "partner": str(response.partner.uuid),
            "rule": found.rule.value,
            "x1": round(found.baseline, 2),
            "x2": round(found.latest, 2),
            "rci": round(found.rci, 2),
            "previous": None if found.previous is None else round(found.previous, 2),
            "previous_rci": None if found.previous_rci is None else round(found.previous_rci, 2),
            "threshold": found.threshold,
            "reliable": stats.RELIABLE,
            "baseline_at": change.points[0].at.isoformat(),
            "episode": episode,
            **_norms_details(change),
        },
    )


def _check_split(response: Response, change: Change) -> None:
    """One alert when one partner reliably improves while the other reliably worsens."""
    norms = change.norms.norms
    if norms is None:
        return
    instrument = response.instrument
    scale = instrument.total_key
    partners = list(Partner.objects.filter(couple_id=response.couple_id).order_by("position"))
    if len(partners) != 2:
        return
    changes = [
        change
        if partner.pk == response.partner_id
        else partner_change(partner, instrument, scale, info=change.norms)
        for partner in partners
    ]
    higher_is_better = instrument.direction(scale) == "higher_is_better"
    found = stats.split(changes[0].values, changes[1].values, norms, higher_is_better)
    if found is None:
        return
    if _unresolved(
        kind=AlertKind.SPLIT, couple_id=response.couple_id, details__instrument=instrument.key
    ):
        return
    episode = [
        c.points[index].response_uuid for c, index in zip(changes, found.episode, strict=True)
    ]
    _raise(
        practice=response.practice,
        couple_id=response.couple_id,
        kind=AlertKind.SPLIT,
        dedupe_key=f"split:{instrument.key}:{scale}:{found.horizon.value}:" + ":".join(episode),
        response=response,
        details={
            "instrument": instrument.key,
            "scale": scale,
            "rule": found.horizon.value,
            "improved": found.improved + 1,  # partner position
            "partners": [
                {
                    "partner": str(partner.uuid),
                    "position": partner.position,
                    "x1": round(moved.x1, 2),
                    "x2": round(moved.x2, 2),
                    "rci": round(moved.rci, 2),
                }
                for partner, moved in zip(partners, found.changes, strict=True)
            ],
            "threshold": stats.RELIABLE,
            **_norms_details(change),
        },
    )


def _check_disagreement(occurrence: Occurrence) -> None:
    pair = list(
        Response.objects.filter(occurrence=occurrence, state=ResponseState.SUBMITTED)
        .select_related("partner")
        .order_by("partner__position")
    )
    if len(pair) != 2:
        return
    instrument = occurrence.instrument
    if not all(_scorable(instrument, r) for r in pair):
        # One partner's stored answers cannot be scored: that response is marked by its
        # own scoring and compared once it is repaired. It must not fail this partner's.
        return
    comparison = compare(instrument, pair)
    if comparison is None:
        return
    found = results.disagreement(comparison, instrument.plan.scale_bounds(comparison.total_key))
    if found is None:
        return
    rule = "+".join(
        name for name, fired in (("totals", found.by_totals), ("items", found.by_items)) if fired
    )
    _raise(
        practice=occurrence.practice,
        couple_id=occurrence.couple_id,
        kind=AlertKind.DISAGREEMENT,
        dedupe_key=f"disagreement:{occurrence.uuid}",
        occurrence=occurrence,
        details={
            "instrument": instrument.key,
            "scale": comparison.total_key,
            "rule": rule,
            "total_gap": None if found.total_gap is None else round(found.total_gap, 2),
            "total_range": found.total_range,
            "total_share": results.TOTAL_GAP_SHARE,
            "flagged_items": found.flagged,
            "items_needed": found.items_needed,
            "n_items": found.n_items,
        },
    )


def _scorable(instrument: Any, response: Response) -> bool:
    if response.scoring_error:
        return False
    try:
        instrument.plan.score(response.answers)
    except Exception:
        return False
    return True


def resolve_automatically(occurrence: Occurrence) -> None:
    """A form that was overdue and is now complete no longer needs attention."""
    now = timezone.now()
    for alert in Alert.objects.filter(
        occurrence=occurrence,
        kind=AlertKind.OVERDUE,
        status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED],
    ):
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.resolution_note = "Completed by the couple."
        alert.save(update_fields=["status", "resolved_at", "resolution_note"])
        audit.record(
            "alert.resolve_automatic",
            practice=occurrence.practice,
            target=alert,
            actor_label="Attune",
            reason="completed",
        )


def raise_scoring_failed(response: Response) -> Alert | None:
    """Tell staff, once per submission, that it could not be scored."""
    return _raise(
        practice=response.practice,
        couple_id=response.couple_id,
        partner_id=response.partner_id,
        kind=AlertKind.SCORING,
        dedupe_key=f"scoring:{response.uuid}",
        response=response,
        details={"instrument": response.instrument.key, "error": response.scoring_error},
    )


def resolve_scoring_failed(response: Response) -> None:
    """The submission has been scored after all: its "could not score" alert is done.

    The caller (scoring) refreshes the couple's caseload row at its end.
    """
    Alert.objects.filter(
        dedupe_key=f"scoring:{response.uuid}",
        status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED],
    ).update(
        status=AlertStatus.RESOLVED,
        resolved_at=timezone.now(),
        resolution_note="Scored on a later attempt.",
    )


def raise_overdue_alerts(today: date, batch: int = batches.BATCH) -> int:
    """One alert per form overdue for a few days (beat).

    Practice by practice, a batch of late forms per transaction, with one caseload
    refresh for the batch's couples after their alerts.
    """
    raised = 0
    for practice, ids in batches.practice_batches(lambda: _late_occurrences(today), batch):
        raised += _raise_overdue_batch(practice, ids)
    return raised


def _late_occurrences(today: date) -> QuerySet[Occurrence]:
    return Occurrence.objects.filter(
        cancelled=False,
        submitted__lt=F("expected"),
        due_date__lte=today - OVERDUE_ALERT_AFTER,
        couple__status="active",
        # A paused or cancelled assignment is not waiting on anyone (as for reminders).
        assignment__status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.FINISHED],
    )


@transaction.atomic
def _raise_overdue_batch(practice: Practice, ids: list[int]) -> int:
    late = list(Occurrence.objects.filter(pk__in=ids).select_related("instrument").order_by("pk"))
    keys = {occurrence.pk: f"overdue:{occurrence.uuid}" for occurrence in late}
    already = set(
        Alert.objects.filter(dedupe_key__in=keys.values()).values_list("dedupe_key", flat=True)
    )
    raised, couples = 0, set()
    for occurrence in late:
        if keys[occurrence.pk] in already:
            continue
        alert = _raise(
            practice=practice,
            couple_id=occurrence.couple_id,
            kind=AlertKind.OVERDUE,
            dedupe_key=keys[occurrence.pk],
            occurrence=occurrence,
            details={
                "instrument": occurrence.instrument.key,
                "due_date": occurrence.due_date.isoformat(),
            },
        )
        if alert is not None:
            raised += 1
            couples.add(occurrence.couple_id)
    summary.refresh(couples)
    return raised


def recipients(alert: Alert) -> list[User]:
    """Who is told about an alert: the couple's clinicians, or the owners if it has none."""
    clinicians = list(alert.couple.clinicians.filter(is_active=True))
    if clinicians:
        return clinicians
    owners = Membership.objects.filter(role=Role.OWNER).select_related("user")
    return [m.user for m in owners if m.user.is_active]


# A mailed alert not sent after this long lost its task; the sweeper sends it.
NOTIFY_GRACE = timedelta(minutes=2)


def unnotified_alerts(now: datetime | None = None) -> list[tuple[int, int]]:
    """(practice id, alert id) of mailed alerts whose email has not gone yet (the outbox)."""
    now = now or timezone.now()
    # The sweeper looks across practices; each task it queues runs in its own scope.
    with scopes_disabled():
        return list(
            Alert.objects.filter(
                kind=AlertKind.SAFETY,
                notified_at__isnull=True,
                created_at__lt=now - NOTIFY_GRACE,
            ).values_list("practice_id", "pk")[:1000]
        )


def notify_clinicians(alert: Alert) -> None:
    """Email that there is an alert, once; the email says nothing about whom or what.

    Marked notified after the emails went: a worker lost in between means the
    sweeper sends it again (twice is better than never for a safety alert).
    """
    if alert.notified_at is not None:
        return  # a duplicate delivery
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
        Alert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())


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
        summary.refresh_couple(alert.couple_id)
        audit.record("alert.resolve", request=request, actor=actor, target=alert)
    return alert
