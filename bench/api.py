"""Benchmark: the couple list API of a 300-couple caseload under gunicorn, next to a bare ceiling.

Run from the project root (it creates and drops its own database):

    .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --duration 25 --warmup 5 --connections 8

What it measures (see bench/README.md, "Report and API benchmarks"):

* GET /api/v1/p/<slug>/couples/?limit=50 with a personal token: the real API
  (token middleware, practice scope, DRF auth, permission, two throttles,
  caseload query with its annotations, cursor paging, CoupleSerializer).
* GET /bench/ceiling/?limit=50 (bench/bench_urls.py): a plain DRF APIView with
  no authentication, permissions, throttles or serializer returning the same
  50 couples with partners' names/uuids and clinicians' names from .values().

Both are served by one gunicorn with 2 sync workers (as in the Dockerfile) on
the benchmark's PostgreSQL database, with throttle rates raised to
1000000/minute so nothing is refused. Load comes from ``wrk`` when it is
installed (``apt-get install wrk``), otherwise from a Python client with one
keep-alive connection per thread. Requests/second and p50/p99 latency are
reported for each endpoint, with the ratio ceiling rps / API rps.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder would come first on sys.path, where other
# benchmarks' files (reports.py, ...) would hide the app's packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = "attune_bench_api"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
# The throttles keep their history in the cache; production uses Redis (docker-compose).
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
SLUG = "bench-api"
CLINICIAN_EMAIL = "clinician@bench-api.test"
N_COUPLES = 300
TMP = Path(tempfile.mkdtemp(prefix="attune-bench-api-"))


def configure(rate: str) -> None:
    """Environment for practice.settings (here and in gunicorn): before django.setup()."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "practice.settings",
            "DATABASE_URL": f"{PG_SERVER}/{DB_NAME}",
            "CELERY_BROKER_URL": "memory://",
            "SECRET_KEY": "bench-not-a-secret-" + "a" * 40,
            "ATTUNE_VAR_DIR": str(TMP / "var"),
            "PRIVATE_MEDIA_ROOT": str(TMP / "private"),
            "CACHE_URL": CACHE_URL,
            "EMAIL_URL": "dummy://",
            "DEBUG": "0",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "API_RATE_PER_TOKEN": rate,
            "API_RATE_PER_IP": rate,
            "BENCH_CEILING_PRACTICE": SLUG,
            "BENCH_CEILING_CLINICIAN": CLINICIAN_EMAIL,
        }
    )
    (TMP / "var" / "static").mkdir(parents=True, exist_ok=True)


def code_state() -> str:
    """Which code was measured: the commit, plus a digest of uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout

    import hashlib

    diff = git("diff", "HEAD")
    changed = len([line for line in git("status", "--porcelain").splitlines() if line.strip()])
    digest = hashlib.sha256(diff.encode()).hexdigest()[:12]
    return (
        f"{git('rev-parse', '--short', 'HEAD').strip()} + {changed} changed paths (diff {digest})"
    )


def admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def environment() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    gunicorn = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("cpus", str(os.cpu_count())),
        ("python", platform.python_version()),
        ("postgres", server),
        ("gunicorn", gunicorn),
        ("code", code_state()),
        ("loadavg", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("cpu busy", f"{busy_share(1.0) * 100:.0f} % of all CPUs over 1 s before the run"),
    ]


def busy_share(seconds: float) -> float:
    """Share of all CPUs busy over the next ``seconds`` (other benchmarks skew numbers)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


# --- Data -----------------------------------------------------------------------

SURNAMES = [
    "Alder",
    "Brook",
    "Calder",
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
]
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
    "Harper",
    "Jamie",
    "Jesse",
    "Jordan",
    "Kai",
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
]


def build_caseload(n_couples: int, seed: int = 20261125) -> dict[str, Any]:
    """One practice; one clinician with ``n_couples`` active couples and their history.

    Each couple: two partners, a fortnightly connection pulse (8 complete
    administrations, both partners, scored) and a monthly connection-signs (4),
    one open pulse form (a third overdue, a third half done, a third not
    started) and, for about a fifth of the couples, open or resolved alerts. A
    tenth of the couples have a second clinician. Bulk-created.
    """
    from django.db import connection, transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from assessments.demo import Person, simulate
    from assessments.models import (
        ALERT_SEVERITY,
        Alert,
        AlertKind,
        AlertStatus,
        Assignment,
        Occurrence,
        Response,
        ResponseState,
        Score,
    )
    from assessments.services.instruments import latest_published
    from assessments.services.scoring import score_rows
    from clients.models import Couple, CoupleStatus, Partner, PortalState
    from practice import tokens
    from practice.models import Membership, Practice, Role, User

    rng = random.Random(seed)
    today = timezone.localdate()

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, dtime(hour, rng.randint(0, 59)), tzinfo=UTC)

    with scopes_disabled(), transaction.atomic():
        practice = Practice.objects.create(
            name="Bench API Practice", slug=SLUG, display_name="Bench API", timezone="UTC"
        )
        password = "bench-password-2026"  # noqa: S105 - throw-away benchmark database
        clinician = User.objects.create_user(
            CLINICIAN_EMAIL, password, full_name="Dr. Clara Clinic"
        )
        colleague = User.objects.create_user(
            "colleague@bench-api.test", password, full_name="Dr. Cyrus Counsel"
        )
        Membership.objects.bulk_create(
            [
                Membership(practice=practice, user=clinician, role=Role.CLINICIAN),
                Membership(practice=practice, user=colleague, role=Role.CLINICIAN),
            ]
        )
        pulse = latest_published("connection-pulse")
        signs = latest_published("connection-signs")
        couples = Couple.objects.bulk_create(
            [
                Couple(
                    practice=practice,
                    label=f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {i:03d}",
                    status=CoupleStatus.ACTIVE,
                    start_date=today - timedelta(days=rng.randint(120, 400)),
                )
                for i in range(n_couples)
            ]
        )
        through = Couple.clinicians.through
        links = [through(couple_id=c.pk, user_id=clinician.pk) for c in couples]
        links += [
            through(couple_id=c.pk, user_id=colleague.pk) for c in couples if rng.random() < 0.1
        ]
        through.objects.bulk_create(links)
        partner_rows = []
        people = {}
        for index, couple in enumerate(couples):
            for position in (1, 2):
                surname = couple.label.split()[0 if position == 1 else 2]
                start = rng.uniform(0.2, 0.8)
                people[(couple.pk, position)] = Person(
                    f"{rng.choice(FIRST)} {surname}", start, start + rng.uniform(-0.2, 0.3)
                )
                partner_rows.append(
                    Partner(
                        practice=practice,
                        couple=couple,
                        position=position,
                        display_name=people[(couple.pk, position)].name,
                        email=f"p{index}.{position}@bench-api.test",
                        portal_state=PortalState.ACTIVE,
                    )
                )
        partners = {(p.couple_id, p.position): p for p in Partner.objects.bulk_create(partner_rows)}
        plan = [(pulse, 14, 8), (signs, 30, 4)]
        assignments = Assignment.objects.bulk_create(
            [
                Assignment(
                    practice=practice,
                    couple=couple,
                    instrument=instrument,
                    first_due=today - timedelta(days=every * count + 5),
                    repeat_every=every,
                    repeat_unit="days",
                    next_due=today + timedelta(days=rng.randint(1, every)),
                    created_by=clinician,
                    created_at=at(today - timedelta(days=every * count + 7), 10),
                )
                for couple in couples
                for instrument, every, count in plan
            ]
        )
        occurrences = []
        for assignment, (_instrument, every, count) in zip(
            assignments, plan * n_couples, strict=True
        ):
            for sequence in range(1, count + 1):
                due = today - timedelta(days=every * (count - sequence + 1) + 5)
                occurrences.append(
                    Occurrence(
                        practice=practice,
                        assignment=assignment,
                        couple_id=assignment.couple_id,
                        instrument=assignment.instrument,
                        sequence=sequence,
                        due_date=due,
                        expected=2,
                        submitted=2,
                        created_at=at(due - timedelta(days=2), 8),
                    )
                )
            if assignment.instrument_id == pulse.pk:
                kind = rng.randrange(3)
                due = (
                    today - timedelta(days=rng.randint(1, 10))
                    if kind == 0
                    else today + timedelta(days=rng.randint(0, 10))
                )
                occurrences.append(
                    Occurrence(
                        practice=practice,
                        assignment=assignment,
                        couple_id=assignment.couple_id,
                        instrument=assignment.instrument,
                        sequence=count + 1,
                        due_date=due,
                        expected=2,
                        submitted=[rng.choice([0, 1]), 1, 0][kind],
                        created_at=at(due - timedelta(days=2), 8),
                    )
                )
        occurrences = Occurrence.objects.bulk_create(occurrences, batch_size=2000)
        responses = []
        for occurrence in occurrences:
            for position in range(1, occurrence.submitted + 1):
                when = at(occurrence.due_date, 18 + position)
                fraction = 1 - (today - occurrence.due_date).days / 130
                responses.append(
                    Response(
                        practice=practice,
                        occurrence=occurrence,
                        partner=partners[(occurrence.couple_id, position)],
                        couple_id=occurrence.couple_id,
                        instrument=occurrence.instrument,
                        state=ResponseState.SUBMITTED,
                        answers=simulate(
                            occurrence.instrument,
                            people[(occurrence.couple_id, position)],
                            max(0.0, fraction),
                            rng,
                        ),
                        started_at=when - timedelta(minutes=4),
                        updated_at=when,
                        submitted_at=when,
                        scored_at=when + timedelta(seconds=2),
                        scoring_version="1",
                    )
                )
        responses = Response.objects.bulk_create(responses, batch_size=2000)
        scores = []
        for response in responses:
            scores.extend(score_rows(response, response.instrument.plan.score(response.answers)))
        Score.objects.bulk_create(scores, batch_size=5000)
        alerts = []
        kinds = [AlertKind.DETERIORATION, AlertKind.DISAGREEMENT, AlertKind.OVERDUE]
        for number, couple in enumerate(c for c in couples if rng.random() < 0.2):
            for extra in range(rng.choice([1, 1, 2])):
                kind = rng.choice(kinds)
                status = rng.choices(list(AlertStatus), [70, 15, 15])[0]
                alerts.append(
                    Alert(
                        practice=practice,
                        couple=couple,
                        partner=partners[(couple.pk, 1)] if kind != AlertKind.OVERDUE else None,
                        kind=kind,
                        severity=ALERT_SEVERITY[kind],
                        status=status,
                        dedupe_key=f"bench:{number}:{extra}",
                        created_at=timezone.now() - timedelta(days=rng.randint(0, 40)),
                        resolved_at=timezone.now() if status == AlertStatus.RESOLVED else None,
                    )
                )
        Alert.objects.bulk_create(alerts)
        _token, secret = tokens.create(practice=practice, user=clinician, name="bench")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "practice": practice,
        "clinician": clinician,
        "token": secret,
        "counts": {
            "couples": len(couples),
            "occurrences": len(occurrences),
            "responses": len(responses),
            "scores": len(scores),
            "alerts": len(alerts),
        },
    }


# --- In-process breakdown ----------------------------------------------------------


class Parts:
    """Wall time of named parts of a request, by wrapping the functions that do them."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.runs: dict[str, list[float]] = {}
        self._undo: list[tuple[Any, str, Any]] = []
        self.queries = 0

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
            self.queries += 1
            self.current["SQL (all queries)"] = (
                self.current.get("SQL (all queries)", 0.0) + time.perf_counter() - started
            )

    def restore(self) -> None:
        for owner, attr, real in reversed(self._undo):
            if real is None:
                delattr(owner, attr)  # it was inherited
            else:
                setattr(owner, attr, real)


def in_process(world: dict[str, Any], n: int) -> dict[str, Any]:
    """Each endpoint through Django's test client, with its parts timed (no HTTP, no gunicorn)."""
    from django.db import connection
    from django.test import Client
    from rest_framework import renderers, serializers, views

    import bench.bench_urls  # noqa: F401 - sets ROOT_URLCONF to include the ceiling
    from clients import caseload
    from practice import audit, middleware, tokens
    from practice.api_base import Cursor

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {world['token']}"}
    api_url = f"/api/v1/p/{SLUG}/couples/?limit=50"
    ceiling_url = "/bench/ceiling/?limit=50"
    out: dict[str, Any] = {}
    for name, url, extra in (("API", api_url, headers), ("ceiling", ceiling_url, {})):
        parts = Parts()
        parts.wrap(tokens, "authenticate", "token lookup (middleware)")
        parts.wrap(middleware, "membership_in", "membership lookup (middleware)")
        parts.wrap(views.APIView, "check_throttles", "throttles (2, cache)")
        parts.wrap(caseload, "caseload", "caseload() builds the queryset (lazy)")
        parts.wrap(Cursor, "paginate_queryset", "caseload query + prefetch (paging)")
        parts.wrap(serializers.ListSerializer, "to_representation", "serializer")
        parts.wrap(renderers.JSONRenderer, "render", "JSON rendering")
        parts.wrap(audit, "record", "audit.record (INSERT)")
        totals = []
        per_run: dict[str, list[float]] = {}
        queries = []
        try:
            for i in range(n + 5):
                parts.current = {}
                parts.queries = 0
                with connection.execute_wrapper(parts.query):
                    started = time.perf_counter()
                    response = client.get(url, **extra)
                    took = time.perf_counter() - started
                assert response.status_code == 200, response.content[:500]
                if i < 5:
                    continue  # warm-up
                totals.append(took)
                queries.append(parts.queries)
                for key, value in parts.current.items():
                    per_run.setdefault(key, []).append(value)
        finally:
            parts.restore()
        for key in per_run:
            per_run[key] += [0.0] * (len(totals) - len(per_run[key]))
        out[name] = {"total": totals, "parts": per_run, "queries": queries}
    return out


def print_in_process(result: dict[str, Any]) -> None:
    for name, data in result.items():
        middle = statistics.median(data["total"])
        print(
            f"  {name}: median {middle * 1000:.2f} ms per request in process "
            f"(n={len(data['total'])}), {statistics.median(data['queries']):.0f} SQL queries"
        )
        ranked = sorted(data["parts"].items(), key=lambda kv: -statistics.median(kv[1]))
        for part, values in ranked:
            value = statistics.median(values)
            nested = "  (nested in the others)" if part.startswith("SQL") else ""
            print(f"    {part:40} {value * 1000:7.2f} ms  {value / middle * 100:5.1f} %{nested}")
        top = [v for k, v in data["parts"].items() if not k.startswith("SQL")]
        rest = [t - sum(p[i] for p in top) for i, t in enumerate(data["total"])]
        value = statistics.median(rest)
        print(
            f"    {'rest: Django/DRF request handling, views':40} {value * 1000:7.2f} ms  "
            f"{value / middle * 100:5.1f} %"
        )


# --- Server and load ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int) -> subprocess.Popen[bytes]:
    log = (TMP / "gunicorn.log").open("wb")
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "bench.bench_urls:application",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/ceiling/", timeout=5):
                return process
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise SystemExit("gunicorn did not start:\n" + (TMP / "gunicorn.log").read_text()[-3000:])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # our own gunicorn master: graceful stop
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only its workers
            process.wait()


def fetch(port: int, path: str, token: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http server
        return response.status, response.read()


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0


def _pids(match: Any) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if match(int(entry), ppid, cmdline):
            found.append(int(entry))
    return found


class CpuMeter(threading.Thread):
    """CPUs used during a load run by gunicorn, by this database's PostgreSQL backends, by
    the load generator (wrk, or this script's client threads) and by everything else.

    /proc is sampled every 0.25 s so that a process that ends inside the window (Django
    reopens its connection once CONN_MAX_AGE has passed) still counts up to its last sample.
    """

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.first: dict[str, dict[int, int]] = {}
        self.last: dict[str, dict[int, int]] = {}
        self.halt = threading.Event()

    def groups(self) -> dict[str, list[int]]:
        return {
            "gunicorn": _pids(lambda p, pp, c: p == self.master or pp == self.master),
            "postgres (this db)": _pids(lambda p, pp, c: DB_NAME in c and "postgres" in c),
        }

    def sample(self, starting: bool = False) -> None:
        for name, pids in self.groups().items():
            first = self.first.setdefault(name, {})
            last = self.last.setdefault(name, {})
            for pid in pids:
                ticks = _cpu_ticks(pid)
                first.setdefault(pid, ticks if starting else 0)
                last[pid] = max(last.get(pid, 0), ticks)

    def run(self) -> None:
        while not self.halt.wait(0.25):
            self.sample()

    def begin(self) -> None:
        import resource

        self.sample(starting=True)
        self.rusage = (
            resource.getrusage(resource.RUSAGE_CHILDREN),
            resource.getrusage(resource.RUSAGE_SELF),
        )
        self.started = time.monotonic()
        self.total0 = self._total()
        self.start()

    def _total(self) -> tuple[int, int]:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        return sum(values) - values[3] - values[4], sum(values)

    def end(self) -> dict[str, float]:
        import resource

        self.halt.set()
        self.join()
        self.sample()
        wall = time.monotonic() - self.started
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for name, last in self.last.items():
            first = self.first[name]
            used[name] = sum(ticks - first.get(pid, 0) for pid, ticks in last.items()) / tick / wall
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        used["load generator + this script"] = (
            sum(
                (now.ru_utime + now.ru_stime) - (then.ru_utime + then.ru_stime)
                for now, then in zip((children, own), self.rusage, strict=True)
            )
            / wall
        )
        busy1, total1 = self._total()
        whole = (busy1 - self.total0[0]) / max(1, total1 - self.total0[1]) * (os.cpu_count() or 1)
        used["anything else"] = max(0.0, whole - sum(used.values()))
        used["whole machine"] = whole
        return used  # in CPUs (1.0 = one core busy all the time)


_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNIT[unit]


def run_wrk(url: str, token: str | None, seconds: int, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    command += ["--timeout", "10s"]
    if token:
        command += ["-H", f"Authorization: Token {token}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _seconds(latency["50"]),
        "p90": _seconds(latency["90"]),
        "p99": _seconds(latency["99"]),
        "requests": int(done.group(1)) if done else 0,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
        "raw": out,
    }


def run_python(port: int, path: str, token: str | None, seconds: int, conns: int) -> dict[str, Any]:
    """Threads, each with its own keep-alive HTTP/1.1 connection (reopened if the server closes)."""
    latencies: list[list[float]] = [[] for _ in range(conns)]
    failures = [0] * conns
    headers = {"Authorization": f"Token {token}"} if token else {}
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures[index] += 1
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                failures[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[index].append(time.perf_counter() - started)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(conns)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    every = [x for one in latencies for x in one]
    return {
        "rps": len(every) / wall,
        "p50": pct(every, 50),
        "p90": pct(every, 90),
        "p99": pct(every, 99),
        "requests": len(every),
        "non_2xx": sum(failures),
        "socket_errors": "none",
        "raw": "",
    }


def load(port: int, path: str, token: str | None, seconds: int, conns: int) -> dict[str, Any]:
    if shutil.which("wrk"):
        return run_wrk(f"http://127.0.0.1:{port}{path}", token, seconds, conns)
    return run_python(port, path, token, seconds, conns)


# --- Main ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=25, help="seconds measured per endpoint")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--rate", default="1000000/minute", help="API_RATE_PER_TOKEN and _PER_IP")
    parser.add_argument("--in-process", type=int, default=200, help="test-client requests")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()

    # A plain `kill` still drops the database and stops gunicorn (finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    configure(args.rate)
    admin_sql(
        f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)',
        f'CREATE DATABASE "{DB_NAME}"',
    )
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        for key, value in environment():
            print(f"  {key:10} {value}")
        started = time.perf_counter()
        world = build_caseload(N_COUPLES)
        print(f"built {world['counts']} in {time.perf_counter() - started:.1f} s")
        token = world["token"]
        api_path = f"/api/v1/p/{SLUG}/couples/?limit=50"
        ceiling_path = "/bench/ceiling/?limit=50"

        if args.in_process:
            print("\n== In process (Django test client, one request at a time) ==")
            print_in_process(in_process(world, args.in_process))

        port = free_port()
        server = start_gunicorn(port, args.workers)
        status, api_body = fetch(port, api_path, token)
        assert status == 200
        status, ceiling_body = fetch(port, ceiling_path, None)
        assert status == 200
        api_rows = json.loads(api_body)["results"]
        ceiling_rows = json.loads(ceiling_body)["results"]
        same = [r["uuid"] for r in api_rows] == [r["uuid"] for r in ceiling_rows]
        print(
            f"\nfirst page: API {len(api_rows)} couples ({len(api_body)} bytes), ceiling "
            f"{len(ceiling_rows)} couples ({len(ceiling_body)} bytes); same couples in the same "
            f"order: {same}"
        )
        if not same or len(api_rows) != 50:
            raise SystemExit("the two endpoints do not return the same page")
        tool = "wrk 2 threads" if shutil.which("wrk") else "Python threads (http.client)"
        print(
            f"\n== gunicorn -w {args.workers} (sync), {tool}, {args.connections} connections, "
            f"{args.warmup} s warm-up + {args.duration} s per endpoint =="
        )
        results = {}
        for name, path, auth in (("API", api_path, token), ("ceiling", ceiling_path, None)):
            load(port, path, auth, args.warmup, args.connections)
            meter = CpuMeter(server.pid)
            meter.begin()
            results[name] = load(port, path, auth, args.duration, args.connections)
            results[name]["cpu"] = meter.end()
        for name, r in results.items():
            print(
                f"  {name:8} {r['rps']:8.1f} req/s   p50 {r['p50'] * 1000:7.2f} ms   "
                f"p90 {r['p90'] * 1000:7.2f} ms   p99 {r['p99'] * 1000:7.2f} ms   "
                f"({r['requests']} requests, non-2xx {r['non_2xx']}, "
                f"socket errors {r['socket_errors']})"
            )
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu"].items())
            print(f"           CPUs used (of {os.cpu_count()}): {cpu}")
            if r["cpu"]["anything else"] > 0.1:
                print(
                    f"           WARNING: other processes used {r['cpu']['anything else']:.2f} "
                    "CPUs during this run: the figures are skewed, run again on a quiet machine"
                )
        ratio = results["ceiling"]["rps"] / results["API"]["rps"]
        print(f"  ratio ceiling rps / API rps: {ratio:.2f}x")
        print(
            "  ratio API p99 / ceiling p99: "
            f"{results['API']['p99'] / results['ceiling']['p99']:.2f}x"
        )
        if any(r["non_2xx"] for r in results.values()):
            raise SystemExit("some requests failed: the figures above are not valid")
        # Others may edit the tree while this runs: say if the code changed under us.
        print(f"  code at the end {code_state()}")
        print("  loadavg at the end " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        if server is not None:
            stop(server)
        from django.db import connections

        connections.close_all()
        if args.keep_db:
            print(f"kept database {DB_NAME}")
        else:
            admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            print(f"dropped database {DB_NAME}")
        # The throttle histories in the cache expire by themselves after their window.
        print(f"gunicorn log in {TMP}")


if __name__ == "__main__":
    main()
