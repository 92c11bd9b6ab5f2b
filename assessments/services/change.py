"""Norms, score series and change statistics per partner."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from django.conf import settings
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
    # Where published norms come from (the definition's "source"), for Methods texts.
    citation: str = ""
    # The reliability found, even when it was too low to use.
    reliability: float | None = None
    # No norms yet, but more first administrations will bring them ("too early to tell"),
    # as opposed to a scale that never has any (one item, a private screen, low reliability).
    waiting: bool = False

    def record(self) -> NormsRecord:
        """The norms as plain data: the API's ``norms`` and a report snapshot's."""
        norms = self.norms
        return {
            "source": norms.source if norms else "",
            "sd": norms.sd if norms else None,
            "reliability": norms.reliability if norms else None,
            "cutoff": norms.cutoff if norms else None,
            "n": self.n,
            "citation": self.citation,
            # The reliability found even when too low to use, for a report's Methods text.
            "reliability_found": self.reliability,
            "reason": str(self.reason),
        }


class NormsRecord(TypedDict):
    """``NormsInfo.record()``: what norms a change statistic used, as JSON-ready data."""

    source: str  # "published", "estimated" or "" (none usable)
    sd: float | None
    reliability: float | None
    cutoff: float | None
    n: int
    citation: str
    reliability_found: float | None
    reason: str


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    response_uuid: str
    rci_from_previous: float | None = None


@dataclass(frozen=True)
class Change:
    """A partner's series on one scale, with change since the start and since the previous form."""

    partner: Partner
    points: list[Point]
    norms: NormsInfo
    since_start: stats.ReliableChange | None = None
    since_previous: stats.ReliableChange | None = None
    reliable_points: frozenset[int] = field(default_factory=frozenset)
    deterioration: stats.Deterioration | None = None
    # When an unresolved deterioration alert for this partner and measure was raised.
    open_alert: datetime | None = None

    @property
    def rci(self) -> float | None:
        """First to latest."""
        return self.since_start.rci if self.since_start else None

    @property
    def change_class(self) -> stats.ChangeClass | None:
        """First to latest."""
        return self.since_start.change_class if self.since_start else None

    @property
    def values(self) -> list[float]:
        return [point.value for point in self.points]


def _floor() -> float:
    return float(settings.MIN_RCI_RELIABILITY)


def _usable(norms: stats.Norms, citation: str = "") -> NormsInfo:
    """The norms, unless their reliability is below the configured floor."""
    if norms.reliability < _floor():
        return NormsInfo(
            None,
            _(
                "No reliable-change statistics: the reliability is %(r)s, below the "
                "%(floor)s this service needs before it shows any."
            )
            % {"r": f"{norms.reliability:.2f}", "floor": f"{_floor():.2f}"},
            norms.n,
            citation,
            norms.reliability,
        )
    return NormsInfo(norms, "", norms.n, citation, norms.reliability)


def norms_for(instrument: Instrument, scale: str, practice: Practice | None = None) -> NormsInfo:
    """Published norms from the definition, else trusted estimates, else why not.

    Private screens never have any: they are read answer by answer. Demo
    practices use estimates from their own data only; everyone else the shared pool.
    """
    if instrument.is_private:
        return NormsInfo(
            None,
            _(
                "No change statistics: this is a private screen. Each answer is read on "
                "its own, and only the screen's own rules raise alerts."
            ),
        )
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
        return _usable(norms, str(published.get("source", "")))
    scale_items = next(s["items"] for s in instrument.definition["scales"] if s["key"] == scale)
    pool = practice if practice is not None and practice.is_demo else None
    estimate = NormEstimate.objects.filter(
        instrument=instrument, scale=scale, practice=pool
    ).first()
    n = estimate.n if estimate else 0
    if len(scale_items) < 2:
        return NormsInfo(
            None,
            _(
                "No reliable-change statistics: a single-item scale has no internal "
                "consistency to estimate reliability from, and no published norms exist."
            ),
            n,
        )
    if estimate is None or n < stats.MIN_NORM_SAMPLE:
        return NormsInfo(
            None,
            _(
                "No reliable-change statistics yet: they need at least %(needed)d first "
                "administrations to estimate spread and reliability; there are %(n)d."
            )
            % {"needed": stats.MIN_NORM_SAMPLE, "n": n},
            n,
            waiting=True,
        )
    if estimate.alpha is None or estimate.sd is None or estimate.sd <= 0 or estimate.alpha >= 1:
        return NormsInfo(
            None, _("No reliable-change statistics: reliability could not be estimated."), n
        )
    return _usable(stats.Norms(estimate.sd, estimate.alpha, n, "estimated"))


def series(partner: Partner, instrument: Instrument, scale: str) -> list[Point]:
    """A partner's scores on one scale, every version of the instrument, oldest first."""
    return [
        Point(at, value, str(uuid))  # type: ignore[arg-type]
        for at, value, uuid in Score.objects.filter(
            partner=partner, instrument_key=instrument.key, scale=scale, value__isnull=False
        )
        .order_by("submitted_at")
        .values_list("submitted_at", "value", "response__uuid")
    ]


def partner_change(
    partner: Partner,
    instrument: Instrument,
    scale: str,
    points: list[Point] | None = None,
    info: NormsInfo | None = None,
) -> Change:
    """A partner's series on one scale with both horizons, stars and the deterioration rule."""
    if points is None:
        points = series(partner, instrument, scale)
    if info is None:
        info = norms_for(instrument, scale, partner.practice)
    if info.norms is None or len(points) < 2:
        return Change(partner, points, info)
    norms = info.norms
    higher_is_better = instrument.direction(scale) == "higher_is_better"
    with_rci = [points[0]]
    reliable = set()
    for index in range(1, len(points)):
        value = stats.rci(points[index - 1].value, points[index].value, norms.sd, norms.reliability)
        with_rci.append(
            Point(points[index].at, points[index].value, points[index].response_uuid, value)
        )
        if abs(value) > stats.RELIABLE:
            reliable.add(index)
    values = [point.value for point in points]
    return Change(
        partner,
        with_rci,
        info,
        since_start=stats.over(values, stats.Horizon.START, norms, higher_is_better),
        since_previous=stats.over(values, stats.Horizon.PREVIOUS, norms, higher_is_better),
        reliable_points=frozenset(reliable),
        deterioration=stats.deterioration(values, norms, higher_is_better),
    )


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
            if instrument.is_private:
                continue
            if instrument.practice_id is None:
                pools = [(None, shared_ids)] + [(pk, [pk]) for pk in demo_ids]
            else:
                pools = [(None, [instrument.practice_id])]
            for pool_practice, practice_ids in pools:
                written += _estimate(instrument, pool_practice, practice_ids)
    return written


def _estimate(instrument: Instrument, pool_practice: int | None, practice_ids: list[int]) -> int:
    plan = instrument.plan
    # What is kept: the scores and the recoded items of complete cases, as numbers.
    scores: dict[str, list[float]] = defaultdict(list)
    matrices: dict[str, list[list[float]]] = {scale.key: [] for scale in plan.scales}
    found = False
    for ids in _first_administrations(instrument, practice_ids):
        found = True
        for answers in Response.objects.filter(pk__in=ids).values_list("answers", flat=True):
            for scale in plan.scales:
                if len(scale.items) >= 2 and all(answers.get(i) is not None for i in scale.items):
                    matrices[scale.key].append(
                        [plan.recode(i, float(answers[i])) for i in scale.items]
                    )
        for key, value in Score.objects.filter(
            response_id__in=ids, value__isnull=False
        ).values_list("scale", "value"):
            scores[key].append(value)  # type: ignore[arg-type]  # value IS NOT NULL above
    if not found:
        return 0
    for scale in plan.scales:
        values = scores.get(scale.key, [])
        matrix = matrices[scale.key]
        # n is what the trusted-estimate threshold looks at: the complete cases
        # alpha rests on (or the scores, for a single item).
        n = min(len(values), len(matrix)) if len(scale.items) >= 2 else len(values)
        NormEstimate.objects.update_or_create(  # type: ignore[misc]
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


# Partners are walked this many at a time to find their first administrations.
FIRSTS_BATCH = 2000


def _first_administrations(
    instrument: Instrument, practice_ids: list[int], batch: int = FIRSTS_BATCH
) -> Iterator[list[int]]:
    """Responses to this version that were their partner's first answer to the instrument.

    "First" looks across every version of the instrument's key, so a partner
    who started on version 1 never counts as a baseline for version 2. The
    pool's partners are walked by keyset, ``batch`` at a time, and each batch's
    submissions of the key read through the partner index, so that a pool of a
    thousand practices is never one list and every submission is read once.
    """
    submitted = Response.objects.filter(  # type: ignore[misc]
        instrument__key=instrument.key,
        instrument__practice_id=instrument.practice_id,
        state=ResponseState.SUBMITTED,
        practice_id__in=practice_ids,
    )
    partners = Partner.objects.filter(practice_id__in=practice_ids).order_by("pk")
    last = 0
    while True:
        partner_ids = list(partners.filter(pk__gt=last).values_list("pk", flat=True)[:batch])
        if not partner_ids:
            return
        rows = list(
            submitted.filter(partner_id__in=partner_ids).values_list(
                "pk", "partner_id", "submitted_at", "instrument_id"
            )
        )
        first: dict[int, datetime] = {}
        for _pk, partner_id, at, _instrument_id in rows:
            if at is not None and (partner_id not in first or at < first[partner_id]):
                first[partner_id] = at
        ids = [
            pk
            for pk, partner_id, at, instrument_id in rows
            if at is not None and at == first.get(partner_id) and instrument_id == instrument.pk
        ]
        if ids:
            yield ids
        if len(partner_ids) < batch:
            return
        last = partner_ids[-1]
