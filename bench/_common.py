"""Shared plumbing for the benchmarks: a throw-away database, settings, data and stats.

Import this module *before* anything from Django: ``configure()`` sets the
environment (``DATABASE_URL`` first of all) that ``practice.settings`` reads,
so a benchmark never opens the developer's database.
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The server the throw-away databases live on (no database name at the end).
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def hide_bench_folder() -> None:
    """Take bench/ off sys.path, where running a script put it first.

    There, its files (reports.py, ...) would hide the app's packages. Import
    ``_common`` first: it is found in bench/ and puts the project root on the path.
    """
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def configure(
    db_name: str,
    broker: str = "memory://",
    db_query: str = "",
    tmp: Path | None = None,
    **extra: str,
) -> str:
    """Point the settings at a benchmark database and keep everything else out of var/.

    Must run before ``django.setup()``. Files go under ``tmp`` (a fresh
    ``/tmp/attune-bench-*`` folder by default). Returns the DATABASE_URL.
    """
    tmp = tmp or Path(tempfile.mkdtemp(prefix="attune-bench-"))
    url = f"{PG_SERVER}/{db_name}{db_query}"
    env = {
        "DJANGO_SETTINGS_MODULE": "practice.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # Nothing is written under the project's var/: secret, cache, files, beat state.
        "SECRET_KEY": "bench-not-a-secret-" + "x" * 40,
        "ATTUNE_VAR_DIR": str(tmp / "var"),
        "CACHE_URL": "locmem://",
        "PRIVATE_MEDIA_ROOT": str(tmp / "private"),
        "EMAIL_URL": "dummy://",
        "DEBUG": "0",
        # INFO would print one audit line per request; the console is not what we measure.
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        **extra,
    }
    os.environ.update(env)
    # WhiteNoise warns once per process when STATIC_ROOT is missing.
    (tmp / "var" / "static").mkdir(parents=True, exist_ok=True)
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


def migrate() -> float:
    """Set Django up and migrate the (new, empty) database; returns the seconds migrate took."""
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    return time.perf_counter() - started


def release_database(db_name: str, keep: bool, where: str = "") -> None:
    """Close this process's connections, then drop the database or say it was kept."""
    from django.db import connections

    connections.close_all()
    if keep:
        print(f"kept database {db_name}{where}")
    else:
        drop_database(db_name)
        print(f"dropped database {db_name}")


@contextmanager
def bench_database(db_name: str, keep: bool = False) -> Iterator[None]:
    """Create the database, set Django up, migrate; drop the database afterwards."""
    create_database(db_name)
    try:
        print(f"migrated {db_name} in {migrate():.1f} s")
        yield
    finally:
        print("loadavg at the end: " + loadavg())
        release_database(db_name, keep, f" ({PG_SERVER}/{db_name})")


@contextmanager
def copied_database(db_name: str, template: str, keep: bool = False) -> Iterator[None]:
    """Like ``bench_database``, on a copy of ``template`` (already migrated and filled)."""
    import django

    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        started = time.perf_counter()
        conn.execute(f'CREATE DATABASE "{db_name}" TEMPLATE "{template}"')
    print(f"copied {template} to {db_name} in {time.perf_counter() - started:.1f} s")
    try:
        django.setup()
        yield
    finally:
        print("loadavg at the end: " + loadavg())
        release_database(db_name, keep, f" ({PG_SERVER}/{db_name})")


# --- Reporting ------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100): rank ceil(pct/100 * n)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
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


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def environment() -> dict[str, str]:
    """What the numbers were measured on."""

    def run(*command: str) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return "?"

    server = server_version()
    return {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": run("nproc"),
        "python": platform.python_version(),
        "psql": run("psql", "--version"),
        "postgres server": server,
        "loadavg": loadavg(),
    }


def print_environment() -> None:
    for key, value in environment().items():
        print(f"  {key:16} {value}")


def code_state() -> str:
    """Which code was measured: the commit, plus a digest of uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout

    diff = git("diff", "HEAD")
    changed = len([line for line in git("status", "--porcelain").splitlines() if line.strip()])
    digest = hashlib.sha256(diff.encode()).hexdigest()[:12]
    return (
        f"{git('rev-parse', '--short', 'HEAD').strip()} + {changed} changed paths (diff {digest})"
    )


def run_facts(*tools: tuple[str, str]) -> list[tuple[str, str]]:
    """What api.py and reports.py measured on and which code; ``tools`` follow postgres."""
    server = server_version()
    return [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("cpus", str(os.cpu_count())),
        ("python", platform.python_version()),
        ("postgres", server),
        *tools,
        ("code", code_state()),
        ("loadavg", loadavg()),
    ]


def print_facts(facts: Sequence[tuple[str, str]]) -> None:
    for key, value in facts:
        print(f"  {key:10} {value}")


def print_end_state() -> None:
    # Others may edit the tree while this runs: say if the code changed under us.
    print(f"  code at the end {code_state()}")
    print(f"  loadavg at the end {loadavg()}")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


class PartTimer:
    """Wall time of named parts of a run, by wrapping the functions that do them.

    ``query`` is a ``connection.execute_wrapper``: it counts the SQL statements
    and adds their time under ``sql``. The wrappers cost a few microseconds.
    """

    def __init__(self, sql: str = "SQL") -> None:
        self.sql = sql
        self.current: dict[str, float] = {}
        self.statements = 0
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        real = getattr(owner, attr, None)
        if real is None:
            return  # not in this version of the code
        own = attr in vars(owner)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.current[name] = self.current.get(name, 0.0) + time.perf_counter() - started

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, real if own else None))

    def query(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements += 1
            self.current[self.sql] = self.current.get(self.sql, 0.0) + time.perf_counter() - started

    def begin(self) -> None:
        self.current = {}
        self.statements = 0

    def restore(self) -> None:
        for owner, attr, real in reversed(self._undo):
            if real is None:
                delattr(owner, attr)  # it was inherited
            else:
                setattr(owner, attr, real)


# --- Processes ------------------------------------------------------------------


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/<pid>/stat after the command name) for every process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry), fields


def process_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, cmdline, utime + stime ticks) for every process."""
    table = {}
    for pid, fields in proc_stats():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[pid] = (int(fields[1]), cmdline, int(fields[11]) + int(fields[12]))
    return table


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


def _own_cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return sum(u.ru_utime + u.ru_stime for u in usage)


class CpuMeter(threading.Thread):
    """CPUs used during a phase by named process groups, and by anything else.

    ``groups`` maps a name to a function(pid, ppid, cmdline) -> bool. /proc is
    sampled every 0.25 s so that processes that end inside the window (recycled
    pool children, a reopened database connection) still count up to their last
    sample. With ``own_usage``, this process and its finished children (a load
    generator) are counted under that name too, from getrusage().
    """

    def __init__(self, groups: dict[str, Any], own_usage: str | None = None) -> None:
        super().__init__(daemon=True)
        self.match = groups
        self.own_usage = own_usage
        self.first: dict[str, dict[int, int]] = {}
        self.last: dict[str, dict[int, int]] = {}
        self.halt = threading.Event()

    def sample(self, starting: bool = False) -> None:
        table = process_table()
        for name, match in self.match.items():
            first = self.first.setdefault(name, {})
            last = self.last.setdefault(name, {})
            for pid, (ppid, cmdline, ticks) in table.items():
                if match(pid, ppid, cmdline):
                    first.setdefault(pid, ticks if starting else 0)
                    last[pid] = max(last.get(pid, 0), ticks)

    def run(self) -> None:
        while not self.halt.wait(0.25):
            self.sample()

    def begin(self) -> CpuMeter:
        self.sample(starting=True)
        if self.own_usage:
            self.own0 = _own_cpu_seconds()
        self.started = time.monotonic()
        self.total0 = machine_busy()
        self.start()
        return self

    def end(self) -> dict[str, float]:
        """CPUs used (1.0 = one core busy all the time) by each group, and the rest."""
        self.halt.set()
        self.join()
        self.sample()
        wall = time.monotonic() - self.started
        tick = os.sysconf("SC_CLK_TCK")
        used = {
            name: sum(t - self.first[name].get(pid, 0) for pid, t in last.items()) / tick / wall
            for name, last in self.last.items()
        }
        if self.own_usage:
            used[self.own_usage] = (_own_cpu_seconds() - self.own0) / wall
        busy, total = machine_busy()
        whole = (busy - self.total0[0]) / max(1, total - self.total0[1]) * (os.cpu_count() or 1)
        used["anything else"] = max(0.0, whole - sum(used.values()))
        used["whole machine"] = whole
        return used


def print_cpu(used: dict[str, float], indent: str = "  ", when: str = "meanwhile") -> None:
    cpu = ", ".join(f"{k} {v:.2f}" for k, v in used.items())
    print(f"{indent}CPUs used (of {os.cpu_count()}): {cpu}")
    if used["anything else"] > 0.1:
        print(
            f"{indent}WARNING: other processes used {used['anything else']:.2f} CPUs {when}: "
            "the figures are skewed, run again on a quiet machine"
        )


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float, every: float
) -> bool:
    """Poll ``ready`` until it holds (True), the process has exited or time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if process.poll() is not None:
            return False
        time.sleep(every)
    return False


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session: SIGTERM (graceful), SIGKILL after 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # our own gunicorn master or celery worker
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only its children
            process.wait()


def celery_worker(
    log: IO[bytes],
    queues: Sequence[str],
    *,
    hostname: str,
    pool: str = "prefork",
    concurrency: int = 1,
    extra: Sequence[str] = (),
    own_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start `celery worker` on ``queues`` with this process's settings, logging to ``log``.

    Same environment (database, broker, queue prefix), at INFO so that it logs
    "ready.". The caller waits for that and stops the worker.
    """
    from practice.celery import worker_command

    command = worker_command(
        queues,
        hostname=hostname,
        concurrency=concurrency,
        extra=["--pool", pool, *extra],
    )
    env = {**os.environ, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=own_session,
    )


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


def pick(pool: Sequence[str], names: str) -> list[str]:
    """``names`` (space-separated) in that order, each checked to be one of ``pool``.

    The seeded data a benchmark builds depends on which names it draws from and
    in what order: api.py and reports.py keep the subsets they were measured with.
    """
    chosen = names.split()
    unknown = [name for name in chosen if name not in pool]
    if unknown:
        raise ValueError(f"not among the shared names: {unknown}")
    return chosen


# (instrument key, share of submitted responses, repeat every n days or None)
INSTRUMENT_MIX = (
    ("connection-pulse", 0.60, 14),
    ("connection-signs", 0.20, 30),
    ("everyday-bond", 0.08, 91),
    ("elements-of-connection", 0.08, 91),
    ("safety-screen", 0.04, None),
)


def aware(day: date, hour: int = 19, minute: int = 30, tz: tzinfo = UTC) -> datetime:
    return datetime.combine(day, dtime(hour, minute), tzinfo=tz)


def occurrence_row(
    assignment: Any,
    sequence: int,
    due: date,
    *,
    submitted: int,
    created_at: datetime,
    expected: int = 2,
) -> Any:
    """An unsaved occurrence of ``assignment`` (built with its practice and instrument)."""
    from assessments.models import Occurrence

    return Occurrence(
        practice=assignment.practice,
        assignment=assignment,
        couple_id=assignment.couple_id,
        instrument=assignment.instrument,
        sequence=sequence,
        due_date=due,
        expected=expected,
        submitted=submitted,
        created_at=created_at,
    )


def response_row(
    occurrence: Any,
    partner: Any,
    answers: dict[str, Any],
    when: datetime,
    *,
    started_before: timedelta,
    scored_at: datetime | None,
    scoring_version: str,
) -> Any:
    """An unsaved response of ``partner`` to ``occurrence``, submitted at ``when``."""
    from assessments.models import Response, ResponseState

    return Response(
        practice=occurrence.practice,
        occurrence=occurrence,
        partner=partner,
        couple_id=occurrence.couple_id,
        instrument=occurrence.instrument,
        state=ResponseState.SUBMITTED,
        answers=answers,
        language="en",
        started_at=when - started_before,
        updated_at=when,
        submitted_at=when,
        scored_at=scored_at,
        scoring_version=scoring_version,
    )


def save_scored(responses: list[Any]) -> tuple[list[Any], list[Any]]:
    """Bulk-create submitted responses, score each with its instrument's plan, save the scores.

    Returns the saved responses (carrying the plan's scoring version, in memory
    only) and the score rows.
    """
    from assessments.models import Response, Score
    from assessments.services.scoring import score_rows

    responses = Response.objects.bulk_create(responses, batch_size=2000)
    scores = []
    for response in responses:
        result = response.instrument.plan.score(response.answers)
        response.scoring_version = result.version
        scores.extend(score_rows(response, result))
    Score.objects.bulk_create(scores, batch_size=5000)
    return responses, scores


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


# build_world's bulk writer: ``bulk_create`` (the default), or COPY with ids taken
# from the table's sequence beforehand (bench/scale.py, for the full-size load).
BULK_COPY = False


def _bulk(model: Any, objs: list[Any], batch_size: int = 5000) -> list[Any]:
    if BULK_COPY:
        return copy_rows(model, objs)
    return model.objects.bulk_create(objs, batch_size=batch_size)


def copy_rows(model: Any, objs: list[Any]) -> list[Any]:
    """Insert unsaved ``objs`` of ``model`` with PostgreSQL's COPY; sets their primary keys.

    The ids are reserved from the table's sequence first (this process is the only
    writer while a benchmark loads), so the objects carry their pk afterwards as
    with ``bulk_create``. Values go through each field's ``pre_save`` and
    ``get_db_prep_save``, as ``bulk_create`` does them.
    """
    from django.db import connections

    if not objs:
        return objs
    connection = connections["default"]  # the wrapper itself: the proxy costs per call
    meta = model._meta
    table = meta.db_table
    pk = meta.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + len(objs) - 1])
    for offset, obj in enumerate(objs):
        setattr(obj, pk.attname, first + offset)
    fields = list(meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrappers
        with raw.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"
    return objs


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
    tag: str = "",
    summaries: bool = True,
) -> World:
    """One practice with staff, couples, history and (optionally) scores, open forms and alerts.

    Everything goes in with bulk_create. ``responses`` submitted responses are
    spread over complete occurrences (two responses each, one for the
    individual safety screen). The named clinician gets ``clinician_couples``
    active couples; the others are spread over nine more clinicians with a mix
    of statuses. ``tag`` tells apart the slugs and staff emails of several
    practices built in one database (bench/scale.py). ``summaries=False`` leaves
    the caseload rows to a later ``summary.rebuild()``.
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
        Score,
    )
    from assessments.scoring_rules import SCORING_VERSION
    from assessments.services.scoring import score_rows
    from clients.models import Couple, CoupleStatus, Partner, PortalState
    from practice.models import Membership, Practice, Role, User

    rng = random.Random(seed)
    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    with scopes_disabled(), transaction.atomic():
        practice = Practice.objects.create(
            name=f"Bench Practice{tag}", slug=f"bench{tag}", timezone="UTC", display_name="Bench"
        )
        password = "bench-password-2026"  # noqa: S105 - throw-away benchmark database
        owner = User.objects.create_user(
            f"owner{tag}@bench.test", password, full_name="Olive Owner"
        )
        clinician = User.objects.create_user(
            f"clinician{tag}@bench.test", password, full_name="Dr. Bench Clinician"
        )
        others = [
            User.objects.create_user(
                f"clin{i}{tag}@bench.test", password, full_name=f"Dr. Other {i}"
            )
            for i in range(9)
        ]
        assistant = User.objects.create_user(
            f"assistant{tag}@bench.test", password, full_name="Asa Assistant"
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
                    occurrence_row(
                        assignment,
                        sequence,
                        due,
                        submitted=expected,
                        created_at=aware(due - timedelta(days=2)),
                        expected=expected,
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
                occurrence_row(
                    assignment,
                    plan[(couple.pk, "connection-pulse")] + 1,
                    due,
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
                response_objs.append(
                    response_row(
                        occurrence,
                        partner,
                        answers,
                        when,
                        started_before=timedelta(minutes=5),
                        scored_at=when + timedelta(seconds=2) if with_scores else None,
                        scoring_version=SCORING_VERSION if with_scores else "",
                    )
                )
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
    # Written past the services: the caseload rows, as `manage.py rebuild_summaries` does.
    from assessments import summary

    if summaries:
        with scopes_disabled(), transaction.atomic():
            summary.refresh(c.pk for c in couple_objs)
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
