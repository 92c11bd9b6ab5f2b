"""Shared plumbing for the benchmarks: a throw-away database, settings, data and stats.

Import this module *before* anything from Django: ``configure()`` sets the
environment (``DATABASE_URL`` first of all) that ``practice.settings`` reads,
so a benchmark never opens the developer's database.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The server the throw-away databases live on (no database name at the end).
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
_TMP = Path(tempfile.mkdtemp(prefix="attune-bench-"))


def configure(db_name: str, broker: str = "memory://", db_query: str = "", **extra: str) -> str:
    """Point the settings at a benchmark database and keep everything else out of var/.

    Must run before ``django.setup()``. Returns the DATABASE_URL.
    """
    url = f"{PG_SERVER}/{db_name}{db_query}"
    env = {
        "DJANGO_SETTINGS_MODULE": "practice.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # Nothing is written under the project's var/: secret, cache, files, beat state.
        "SECRET_KEY": "bench-not-a-secret-" + "x" * 40,
        "ATTUNE_VAR_DIR": str(_TMP / "var"),
        "CACHE_URL": "locmem://",
        "PRIVATE_MEDIA_ROOT": str(_TMP / "private"),
        "EMAIL_URL": "dummy://",
        "DEBUG": "0",
        # INFO would print one audit line per request; the console is not what we measure.
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        **extra,
    }
    os.environ.update(env)
    # WhiteNoise warns once per process when STATIC_ROOT is missing.
    (_TMP / "var" / "static").mkdir(parents=True, exist_ok=True)
    return url


def _admin_connection() -> Any:
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def create_database(db_name: str) -> None:
    """(Re)create an empty database for this run."""
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')


def drop_database(db_name: str) -> None:
    from django.db import connections

    connections.close_all()
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@contextmanager
def bench_database(db_name: str, keep: bool = False) -> Iterator[None]:
    """Create the database, set Django up, migrate; drop the database afterwards."""
    create_database(db_name)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"migrated {db_name} in {time.perf_counter() - started:.1f} s")
        yield
    finally:
        print("loadavg at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        if keep:
            print(f"kept database {db_name} ({PG_SERVER}/{db_name})")
        else:
            drop_database(db_name)
            print(f"dropped database {db_name}")


# --- Reporting ------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Summary:
    n: int
    mean: float
    median: float
    p95: float
    p99: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            n=len(values),
            mean=statistics.fmean(values),
            median=statistics.median(values),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            min=min(values),
            max=max(values),
        )


def environment() -> dict[str, str]:
    """What the numbers were measured on."""

    def run(*command: str) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return "?"

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": run("nproc"),
        "python": platform.python_version(),
        "psql": run("psql", "--version"),
        "postgres server": server,
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def print_environment() -> None:
    for key, value in environment().items():
        print(f"  {key:16} {value}")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# --- Data -----------------------------------------------------------------------

FIRST = [
    "Alex",
    "Avery",
    "Blair",
    "Casey",
    "Charlie",
    "Dana",
    "Drew",
    "Eden",
    "Ellis",
    "Emery",
    "Finley",
    "Frankie",
    "Harper",
    "Hayden",
    "Jamie",
    "Jesse",
    "Jordan",
    "Jules",
    "Kai",
    "Kendall",
    "Lane",
    "Logan",
    "Marin",
    "Morgan",
    "Noel",
    "Parker",
    "Quinn",
    "Reese",
    "Remy",
    "Riley",
    "Robin",
    "Rory",
    "Rowan",
    "Sage",
    "Sam",
    "Sasha",
    "Skyler",
    "Tatum",
    "Taylor",
    "Toby",
]
LAST = [
    "Alder",
    "Ashgrove",
    "Birchall",
    "Brightwater",
    "Brook",
    "Calder",
    "Copperfield",
    "Cross",
    "Delacroix",
    "Ellery",
    "Fairweather",
    "Finch",
    "Garnett",
    "Hart",
    "Holloway",
    "Ingram",
    "Jansen",
    "Kestrel",
    "Larkspur",
    "Lindqvist",
    "Mapleton",
    "Marlowe",
    "Moss",
    "Nakamura",
    "Novak",
    "Oakes",
    "Okafor",
    "Pennyworth",
    "Quillfeather",
    "Reed",
    "Rivera",
    "Chen",
    "Sorrel",
    "Thistlewood",
    "Underhill",
    "Vale",
    "Whitlock",
    "Wrenfield",
    "Yilmaz",
    "Zeller",
    "Abernathy",
    "Baptiste",
    "Castellano",
    "Dubois",
    "Esposito",
    "Fitzgerald",
    "Gallagher",
    "Haddad",
    "Iwasaki",
    "Kowalski",
    "Lindgren",
    "Moreau",
    "Nguyen",
    "Oyelaran",
    "Petrov",
    "Quintero",
    "Rasmussen",
    "Sandoval",
    "Tanaka",
    "Ulrich",
    "Varga",
    "Weber",
    "Xu",
    "Yamamoto",
    "Zhou",
]

# (instrument key, share of submitted responses, repeat every n days or None)
INSTRUMENT_MIX = (
    ("connection-pulse", 0.60, 14),
    ("connection-signs", 0.20, 30),
    ("everyday-bond", 0.08, 91),
    ("elements-of-connection", 0.08, 91),
    ("safety-screen", 0.04, None),
)


def aware(day: date, hour: int = 19, minute: int = 30) -> datetime:
    return datetime.combine(day, dtime(hour, minute), tzinfo=UTC)


class AnswerMaker:
    """Random complete answers for an instrument, near a partner's level (0 worst, 1 best)."""

    def __init__(self, definition: dict[str, Any]) -> None:
        from assessments.definition import item_options

        self.private = bool(definition.get("private"))
        self.items: list[tuple[str, list[float], bool]] = []
        for item in definition["items"]:
            if item["type"] == "text":
                continue
            values = sorted(o["value"] for o in item_options(definition, item))
            self.items.append((item["link_id"], values, bool(item.get("reverse"))))

    def make(self, rng: random.Random, level: float, safety_rate: float = 0.02) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for link_id, values, reverse in self.items:
            if self.private:
                answers[link_id] = 1 if rng.random() < safety_rate else 0
                continue
            wanted = min(1.0, max(0.0, level + rng.gauss(0, 0.12)))
            if reverse:
                wanted = 1.0 - wanted
            answers[link_id] = values[min(len(values) - 1, int(wanted * len(values)))]
        return answers


@dataclass
class World:
    practice: Any
    owner: Any
    clinician: Any
    clinician_couple_ids: list[int]
    couple_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)


def _bulk(model: Any, objs: list[Any], batch_size: int = 5000) -> list[Any]:
    return model.objects.bulk_create(objs, batch_size=batch_size)


def build_world(
    *,
    couples: int,
    responses: int,
    clinician_couples: int = 0,
    open_occurrences: int = 0,
    alerts: int = 0,
    with_scores: bool = True,
    seed: int = 20261125,
    today: date | None = None,
) -> World:
    """One practice with staff, couples, history and (optionally) scores, open forms and alerts.

    Everything goes in with bulk_create. ``responses`` submitted responses are
    spread over complete occurrences (two responses each, one for the
    individual safety screen). The named clinician gets ``clinician_couples``
    active couples; the others are spread over nine more clinicians with a mix
    of statuses.
    """
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from assessments.models import (
        ALERT_SEVERITY,
        Alert,
        AlertKind,
        AlertStatus,
        Assignment,
        AssignmentStatus,
        Instrument,
        InstrumentStatus,
        Occurrence,
        Response,
        ResponseState,
        Score,
    )
    from assessments.scoring import SCORING_VERSION
    from assessments.services.scoring import score_rows
    from clients.models import Couple, CoupleStatus, Partner, PortalState
    from practice.models import Membership, Practice, Role, User

    rng = random.Random(seed)
    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    with scopes_disabled(), transaction.atomic():
        practice = Practice.objects.create(
            name="Bench Practice", slug="bench", timezone="UTC", display_name="Bench"
        )
        password = "bench-password-2026"  # noqa: S105 - throw-away benchmark database
        owner = User.objects.create_user("owner@bench.test", password, full_name="Olive Owner")
        clinician = User.objects.create_user(
            "clinician@bench.test", password, full_name="Dr. Bench Clinician"
        )
        others = [
            User.objects.create_user(f"clin{i}@bench.test", password, full_name=f"Dr. Other {i}")
            for i in range(9)
        ]
        assistant = User.objects.create_user(
            "assistant@bench.test", password, full_name="Asa Assistant"
        )
        Membership.objects.bulk_create(
            [
                Membership(practice=practice, user=owner, role=Role.OWNER),
                Membership(practice=practice, user=clinician, role=Role.CLINICIAN),
                Membership(practice=practice, user=assistant, role=Role.ASSISTANT),
                *[Membership(practice=practice, user=u, role=Role.CLINICIAN) for u in others],
            ]
        )
        instruments = {
            i.key: i
            for i in Instrument.objects.filter(
                practice__isnull=True, status=InstrumentStatus.PUBLISHED
            )
        }
        makers = {key: AnswerMaker(i.definition) for key, i in instruments.items()}

        # Couples and partners.
        mine = set(rng.sample(range(couples), clinician_couples))
        couple_objs = []
        for index in range(couples):
            if index in mine:
                status = CoupleStatus.ACTIVE
            else:
                status = rng.choices(
                    [CoupleStatus.ACTIVE, CoupleStatus.PAUSED, CoupleStatus.CLOSED], [75, 12, 13]
                )[0]
            one, two = rng.choice(LAST), rng.choice(LAST)
            label = one if rng.random() < 0.35 else f"{one} & {two}"
            couple_objs.append(
                Couple(
                    practice=practice,
                    label=f"{label} {index:04d}",
                    status=status,
                    start_date=today - timedelta(days=rng.randint(30, 700)),
                )
            )
        couple_objs = _bulk(Couple, couple_objs)
        through = Couple.clinicians.through
        links = []
        for index, couple in enumerate(couple_objs):
            primary = clinician if index in mine else rng.choice([owner, *others])
            chosen = [primary]
            if rng.random() < 0.1:
                co = rng.choice(others)
                if co not in chosen:
                    chosen.append(co)
            links.extend(through(couple_id=couple.pk, user_id=u.pk) for u in chosen)
        _bulk(through, links)
        partner_objs = []
        levels: dict[tuple[int, int], float] = {}
        for index, couple in enumerate(couple_objs):
            surname = couple.label.split(" ")[0]
            for position in (1, 2):
                levels[(couple.pk, position)] = rng.uniform(0.15, 0.9)
                partner_objs.append(
                    Partner(
                        practice=practice,
                        couple=couple,
                        position=position,
                        display_name=f"{rng.choice(FIRST)} {surname}",
                        email=f"p{index}.{position}@bench.test",
                        portal_state=PortalState.ACTIVE,
                    )
                )
        partner_objs = _bulk(Partner, partner_objs)
        partners = {(p.couple_id, p.position): p for p in partner_objs}
        counts["couples"], counts["partners"] = len(couple_objs), len(partner_objs)

        # How many complete occurrences of which instrument each couple has.
        keys = [k for k, _, _ in INSTRUMENT_MIX]
        weights = [w for _, w, _ in INSTRUMENT_MIX]
        every = {k: e for k, _, e in INSTRUMENT_MIX}
        plan: dict[tuple[int, str], int] = {}
        made = 0
        while made < responses:
            couple = rng.choice(couple_objs)
            key = rng.choices(keys, weights)[0]
            if key == "safety-screen" and plan.get((couple.pk, key)):
                key = "connection-pulse"
            plan[(couple.pk, key)] = plan.get((couple.pk, key), 0) + 1
            made += 1 if key == "safety-screen" else 2
        # Open forms go on the pulse of active couples; make sure those have a pulse assignment.
        active = [c for c in couple_objs if c.status == CoupleStatus.ACTIVE]
        open_couples = rng.sample(active, min(open_occurrences, len(active)))
        for couple in open_couples:
            plan.setdefault((couple.pk, "connection-pulse"), 0)

        couple_by_id = {c.pk: c for c in couple_objs}
        assignment_objs = []
        for (couple_id, key), n in plan.items():
            couple = couple_by_id[couple_id]
            step = every[key]
            first = today - timedelta(days=(step or 30) * max(n, 1) + 3)
            recurring = step is not None and couple.status == CoupleStatus.ACTIVE
            assignment_objs.append(
                Assignment(
                    practice=practice,
                    couple=couple,
                    instrument=instruments[key],
                    partner=partners[(couple_id, 1)] if key == "safety-screen" else None,
                    first_due=first,
                    repeat_every=step,
                    repeat_unit="days" if step else "",
                    status=AssignmentStatus.ACTIVE if recurring else AssignmentStatus.FINISHED,
                    next_due=today + timedelta(days=rng.randint(1, step)) if recurring else None,
                    created_at=aware(first - timedelta(days=2)),
                )
            )
        assignment_objs = _bulk(Assignment, assignment_objs)
        assignments = {(a.couple_id, a.instrument.key): a for a in assignment_objs}

        # Complete occurrences: one per planned administration, spaced back from today.
        occurrence_objs = []
        for (couple_id, key), n in plan.items():
            assignment = assignments[(couple_id, key)]
            step = every[key] or 30
            expected = 1 if key == "safety-screen" else 2
            for sequence in range(1, n + 1):
                due = today - timedelta(days=step * (n - sequence + 1) + rng.randint(0, 3))
                occurrence_objs.append(
                    Occurrence(
                        practice=practice,
                        assignment=assignment,
                        couple_id=couple_id,
                        instrument=assignment.instrument,
                        sequence=sequence,
                        due_date=due,
                        expected=expected,
                        submitted=expected,
                        created_at=aware(due - timedelta(days=2)),
                    )
                )
        # Open ones: overdue (none or one partner done), started, not started.
        open_objs = []
        for number, couple in enumerate(open_couples):
            assignment = assignments[(couple.pk, "connection-pulse")]
            kind = number % 3
            due = (
                today - timedelta(days=rng.randint(1, 20))
                if kind == 0
                else today + timedelta(days=rng.randint(0, 10))
            )
            open_objs.append(
                Occurrence(
                    practice=practice,
                    assignment=assignment,
                    couple=couple,
                    instrument=assignment.instrument,
                    sequence=plan[(couple.pk, "connection-pulse")] + 1,
                    due_date=due,
                    expected=2,
                    submitted=rng.choice([0, 1]) if kind == 0 else (1 if kind == 1 else 0),
                    created_at=aware(due - timedelta(days=2)),
                )
            )
        occurrence_objs = _bulk(Occurrence, occurrence_objs + open_objs)
        counts["occurrences"] = len(occurrence_objs)
        counts["open occurrences"] = len(open_objs)
        counts["overdue occurrences"] = sum(1 for o in open_objs if o.due_date < today)

        # Submitted responses for every submission counted on an occurrence.
        response_objs = []
        results = []
        for occurrence in occurrence_objs:
            instrument = occurrence.instrument
            for position in range(1, occurrence.submitted + 1):
                partner = partners[(occurrence.couple_id, position)]
                when = aware(occurrence.due_date, 18 + position, rng.randint(0, 59))
                answers = makers[instrument.key].make(rng, levels[(occurrence.couple_id, position)])
                response = Response(
                    practice=practice,
                    occurrence=occurrence,
                    partner=partner,
                    couple_id=occurrence.couple_id,
                    instrument=instrument,
                    state=ResponseState.SUBMITTED,
                    answers=answers,
                    language="en",
                    started_at=when - timedelta(minutes=5),
                    updated_at=when,
                    submitted_at=when,
                    scored_at=when + timedelta(seconds=2) if with_scores else None,
                    scoring_version=SCORING_VERSION if with_scores else "",
                )
                response_objs.append(response)
                if with_scores:
                    results.append(instrument.plan.score(answers))
        response_objs = _bulk(Response, response_objs)
        counts["submitted responses"] = len(response_objs)
        if with_scores:
            score_objs = []
            for response, result in zip(response_objs, results, strict=True):
                score_objs.extend(score_rows(response, result))
            _bulk(Score, score_objs)
            counts["scores"] = len(score_objs)

        # Alerts: mostly open, some acknowledged or resolved.
        overdue_objs = [o for o in occurrence_objs[-len(open_objs) :] if o.due_date < today]
        alert_objs = []
        kinds = [AlertKind.SAFETY, AlertKind.CLINICAL, AlertKind.DETERIORATION]
        kinds += [AlertKind.DISAGREEMENT, AlertKind.OVERDUE]
        now = timezone.now()
        for number in range(alerts):
            kind = rng.choices(kinds, [5, 10, 30, 30, 25])[0]
            occurrence = (
                rng.choice(overdue_objs) if kind == AlertKind.OVERDUE and overdue_objs else None
            )
            couple_id = occurrence.couple_id if occurrence else rng.choice(couple_objs).pk
            status = rng.choices(
                [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED], [70, 15, 15]
            )[0]
            alert_objs.append(
                Alert(
                    practice=practice,
                    couple_id=couple_id,
                    partner=partners[(couple_id, 1)] if kind != AlertKind.OVERDUE else None,
                    kind=kind,
                    severity=ALERT_SEVERITY[kind],
                    status=status,
                    occurrence=occurrence,
                    dedupe_key=f"bench:{number}",
                    created_at=now - timedelta(days=rng.randint(0, 60)),
                    resolved_at=now if status == AlertStatus.RESOLVED else None,
                )
            )
        _bulk(Alert, alert_objs)
        counts["alerts"] = len(alert_objs)
        counts["open alerts"] = sum(1 for a in alert_objs if a.status != AlertStatus.RESOLVED)
    return World(
        practice=practice,
        owner=owner,
        clinician=clinician,
        clinician_couple_ids=[couple_objs[i].pk for i in sorted(mine)],
        couple_ids=[c.pk for c in couple_objs],
        counts=counts,
    )


def analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give them soon."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
