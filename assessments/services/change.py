"""Norms, score series and change statistics per partner."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from assessments import stats
from assessments.models import Instrument, NormEstimate, Response, ResponseState, Score
from clients.models import Partner
from practice.models import Practice


@dataclass(frozen=True)
class NormsInfo:
    norms: stats.Norms | None
    reason: str  # why there is no RCI, when norms is None
    n: int = 0


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    response_uuid: str
    rci_from_previous: float | None = None


@dataclass(frozen=True)
class Change:
    partner: Partner
    points: list[Point]
    norms: NormsInfo
    rci: float | None = None  # first to latest
    change_class: stats.ChangeClass | None = None
    reliable_points: frozenset[int] = field(default_factory=frozenset)


def norms_for(instrument: Instrument, scale: str, practice: Practice | None = None) -> NormsInfo:
    """Published norms from the definition, else trusted estimates, else why not.

    Demo practices use estimates from their own data only; everyone else the shared pool.
    """
    published = instrument.definition.get("norms", {}).get(scale)
    if published:
        cutoff = None
        clinical, functional = published.get("clinical"), published.get("functional")
        if clinical and functional:
            cutoff = stats.criterion_c(
                clinical["mean"], clinical["sd"], functional["mean"], functional["sd"]
            )
        norms = stats.Norms(
            published["sd"], published["reliability"], published["n"], "published", cutoff
        )
        return NormsInfo(norms, "", published["n"])
    scale_items = next(s["items"] for s in instrument.definition["scales"] if s["key"] == scale)
    if len(scale_items) < 2:
        return NormsInfo(
            None,
            _(
                "No reliable-change statistics: a single-item scale has no internal "
                "consistency to estimate reliability from, and no published norms exist."
            ),
        )
    pool = practice if practice is not None and practice.is_demo else None
    estimate = NormEstimate.objects.filter(
        instrument=instrument, scale=scale, practice=pool
    ).first()
    n = estimate.n if estimate else 0
    if estimate is None or n < stats.MIN_NORM_SAMPLE:
        return NormsInfo(
            None,
            _(
                "No reliable-change statistics yet: they need at least %(needed)d first "
                "administrations to estimate spread and reliability; there are %(n)d."
            )
            % {"needed": stats.MIN_NORM_SAMPLE, "n": n},
            n,
        )
    if estimate.alpha is None or estimate.sd is None or estimate.sd <= 0 or estimate.alpha >= 1:
        return NormsInfo(
            None, _("No reliable-change statistics: reliability could not be estimated."), n
        )
    if estimate.alpha <= 0:
        return NormsInfo(
            None,
            _("No reliable-change statistics: the estimated reliability is too low to use."),
            n,
        )
    return NormsInfo(stats.Norms(estimate.sd, estimate.alpha, n, "estimated"), "", n)


def partner_change(
    partner: Partner, instrument: Instrument, scale: str, points: list[Point] | None = None
) -> Change:
    """A partner's series on one scale with RCI first-to-latest and between neighbours."""
    if points is None:
        points = [
            Point(at, value, str(uuid))
            for at, value, uuid in Score.objects.filter(
                partner=partner, instrument_key=instrument.key, scale=scale, value__isnull=False
            )
            .order_by("submitted_at")
            .values_list("submitted_at", "value", "response__uuid")
        ]
    info = norms_for(instrument, scale, partner.practice)
    if info.norms is None or len(points) < 2:
        return Change(partner, points, info)
    higher_is_better = instrument.direction(scale) == "higher_is_better"
    with_rci = [points[0]]
    reliable = set()
    for index in range(1, len(points)):
        value = stats.rci(
            points[index - 1].value, points[index].value, info.norms.sd, info.norms.reliability
        )
        with_rci.append(
            Point(points[index].at, points[index].value, points[index].response_uuid, value)
        )
        if abs(value) > stats.RELIABLE:
            reliable.add(index)
    index, change_class = stats.classify(
        points[0].value, points[-1].value, info.norms, higher_is_better
    )
    return Change(partner, with_rci, info, index, change_class, frozenset(reliable))


def estimate_norms() -> int:
    """Recompute baseline SD, mean and Cronbach's alpha from first administrations (beat).

    Built-in instruments pool the practices that contribute (demo practices
    each form a pool of their own); a practice's own instrument uses only that
    practice's data. Only aggregates are stored. Returns the rows written.
    """
    written = 0
    # Aggregating across practices is the point of this task; it stores no client data.
    with scopes_disabled():
        demo_ids = list(Practice.objects.filter(is_demo=True).values_list("pk", flat=True))
        shared_ids = list(
            Practice.objects.filter(contribute_to_norms=True, is_demo=False).values_list(
                "pk", flat=True
            )
        )
        for instrument in Instrument.objects.all():
            if instrument.practice_id is None:
                pools = [(None, shared_ids)] + [(pk, [pk]) for pk in demo_ids]
            else:
                pools = [(None, [instrument.practice_id])]
            for pool_practice, practice_ids in pools:
                written += _estimate(instrument, pool_practice, practice_ids)
    return written


def _estimate(instrument: Instrument, pool_practice: int | None, practice_ids: list[int]) -> int:
    first_ids = _first_administrations(instrument, practice_ids)
    if not first_ids:
        return 0
    responses = list(Response.objects.filter(pk__in=first_ids).values_list("answers", flat=True))
    plan = instrument.plan
    scores: dict[str, list[float]] = defaultdict(list)
    for row in Score.objects.filter(response_id__in=first_ids, value__isnull=False):
        scores[row.scale].append(row.value)
    for scale in plan.scales:
        values = scores.get(scale.key, [])
        matrix = [
            [plan.recode(i, float(answers[i])) for i in scale.items]
            for answers in responses
            if all(answers.get(i) is not None for i in scale.items)
        ]
        # n is what the trusted-estimate threshold looks at: the complete cases
        # alpha rests on (or the scores, for a single item).
        n = min(len(values), len(matrix)) if len(scale.items) >= 2 else len(values)
        NormEstimate.objects.update_or_create(
            instrument=instrument,
            scale=scale.key,
            practice_id=pool_practice,
            defaults={
                "n": n,
                "mean": sum(values) / len(values) if values else None,
                "sd": stats.sd(values) if len(values) >= 2 else None,
                "alpha": stats.cronbach_alpha(matrix) if len(scale.items) >= 2 else None,
                "computed_at": timezone.now(),
            },
        )
    return len(plan.scales)


def _first_administrations(instrument: Instrument, practice_ids: list[int]) -> list[int]:
    """Responses to this version that were their partner's first answer to the instrument.

    "First" looks across every version of the instrument's key, so a partner
    who started on version 1 never counts as a baseline for version 2.
    """
    submitted = Response.objects.filter(
        instrument__key=instrument.key,
        instrument__practice_id=instrument.practice_id,
        state=ResponseState.SUBMITTED,
        practice_id__in=practice_ids,
    )
    firsts = submitted.values("partner_id").annotate(first=Min("submitted_at"))
    wanted = {(row["partner_id"], row["first"]) for row in firsts}
    return [
        pk
        for pk, partner_id, at, instrument_id in submitted.values_list(
            "pk", "partner_id", "submitted_at", "instrument_id"
        )
        if (partner_id, at) in wanted and instrument_id == instrument.pk
    ]
