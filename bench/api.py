"""Benchmark: the couple list API of a 300-couple caseload under gunicorn, next to a bare ceiling.

Run from the project root (it creates and drops its own database):

    .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --duration 25 --warmup 5 --connections 8

What it measures (see bench/README.md, "Report and API benchmarks"):

* GET /api/v1/p/<slug>/couples/?limit=50 with a personal token: the real API
  (token middleware, practice scope, DRF auth, permission, two throttles,
  caseload query with its annotations, cursor paging, CoupleSerializer).
* GET /bench/ceiling/?limit=50 (bench/bench_urls.py): a plain DRF APIView with
  no authentication, permissions, throttles, audit or serializer returning the
  same JSON ``results`` (checked equal) from .values() reads of the couples,
  their caseload summaries, partners and clinicians: the issue's ceiling.
* GET /bench/ceiling-min/?limit=50: the ceiling used before 2026-12-05, with a
  smaller body (the couples, partners' uuids and names, clinicians).

Both are served by one gunicorn with 2 sync workers (as in the Dockerfile) on
the benchmark's PostgreSQL database, with throttle rates raised to
1000000/minute so nothing is refused. Load comes from ``wrk`` when it is
installed (``apt-get install wrk``), otherwise from a Python client with one
keep-alive connection per thread. Requests/second and p50/p99 latency are
reported for each endpoint, with the ratios ceiling rps / API rps.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import _common

# Run as a script, bench/ would come first on sys.path, where other benchmarks'
# files (reports.py, ...) would hide the app's packages.
_common.hide_bench_folder()
ROOT = _common.ROOT

DB_NAME = os.environ.get("BENCH_DB_NAME", "attune_bench_api")
# The throttles keep their history in the cache; production uses Redis (docker-compose).
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
SLUG = "bench-api"
CLINICIAN_EMAIL = "clinician@bench-api.test"
N_COUPLES = 300
TMP = Path(tempfile.mkdtemp(prefix="attune-bench-api-"))


def configure(rate: str) -> None:
    """Environment for practice.settings (here and in gunicorn): before django.setup()."""
    _common.configure(
        DB_NAME,
        tmp=TMP,
        CACHE_URL=CACHE_URL,
        API_RATE_PER_TOKEN=rate,
        API_RATE_PER_IP=rate,
        BENCH_CEILING_PRACTICE=SLUG,
        BENCH_CEILING_CLINICIAN=CLINICIAN_EMAIL,
    )


def environment() -> list[tuple[str, str]]:
    gunicorn = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        *_common.run_facts(("gunicorn", gunicorn)),
        ("cpu busy", f"{busy_share(1.0) * 100:.0f} % of all CPUs over 1 s before the run"),
    ]


def busy_share(seconds: float) -> float:
    """Share of all CPUs busy over the next ``seconds`` (other benchmarks skew numbers)."""
    busy0, total0 = _common.machine_busy()
    time.sleep(seconds)
    busy1, total1 = _common.machine_busy()
    return (busy1 - busy0) / max(1, total1 - total0)


# --- Data -----------------------------------------------------------------------

# The shared names, the subsets and order this caseload was first measured with.
SURNAMES = _common.pick(
    _common.LAST,
    "Alder Brook Calder Delacroix Ellery Fairweather Finch Garnett Hart Holloway Ingram Jansen"
    " Kestrel Larkspur Lindqvist Mapleton Marlowe Moss Nakamura Novak Oakes Okafor Pennyworth"
    " Quillfeather Reed Rivera Chen Sorrel Thistlewood Underhill Vale Whitlock Wrenfield Yilmaz",
)
FIRST = _common.pick(
    _common.FIRST,
    "Alex Avery Blair Casey Charlie Dana Drew Eden Ellis Emery Finley Harper Jamie Jesse Jordan"
    " Kai Lane Logan Marin Morgan Noel Parker Quinn Reese Remy Riley Robin Rory Rowan Sage Sam",
)


def build_caseload(n_couples: int, seed: int = 20261125) -> dict[str, Any]:
    """One practice; one clinician with ``n_couples`` active couples and their history.

    Each couple: two partners, a fortnightly connection pulse (8 complete
    administrations, both partners, scored) and a monthly connection-signs (4),
    one open pulse form (a third overdue, a third half done, a third not
    started) and, for about a fifth of the couples, open or resolved alerts. A
    tenth of the couples have a second clinician. Bulk-created.
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
        Occurrence,
    )
    from assessments.services.instruments import latest_published
    from clients.models import Couple, CoupleStatus, Partner, PortalState
    from demo.synthetic import Person, simulate
    from practice import tokens
    from practice.models import Membership, Practice, Role, User

    rng = random.Random(seed)
    today = timezone.localdate()

    def at(day: date, hour: int) -> datetime:
        return _common.aware(day, hour, rng.randint(0, 59))

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
                    _common.occurrence_row(
                        assignment,
                        sequence,
                        due,
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
                    _common.occurrence_row(
                        assignment,
                        count + 1,
                        due,
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
                    _common.response_row(
                        occurrence,
                        partners[(occurrence.couple_id, position)],
                        simulate(
                            occurrence.instrument,
                            people[(occurrence.couple_id, position)],
                            max(0.0, fraction),
                            rng,
                        ),
                        when,
                        started_before=timedelta(minutes=4),
                        scored_at=when + timedelta(seconds=2),
                        scoring_version="1",
                    )
                )
        responses, scores = _common.save_scored(responses)
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
    # Written past the services: the caseload rows, as `manage.py rebuild_summaries` does.
    from assessments import summary

    summary.rebuild()
    _common.analyze()
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


def in_process(world: dict[str, Any], n: int) -> dict[str, Any]:
    """Each endpoint through Django's test client, with its parts timed (no HTTP, no gunicorn)."""
    from django.db import connection
    from django.test import Client
    from rest_framework import renderers, serializers, views

    import bench.bench_urls  # noqa: F401 - sets ROOT_URLCONF to include the ceiling
    from assessments import api_caseload, caseload
    from practice import audit, keyset, middleware, tokens
    from practice.api_base import StaffAPIView

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {world['token']}"}
    api_url = f"/api/v1/p/{SLUG}/couples/?limit=50"
    out: dict[str, Any] = {}
    for name, url, extra in (
        ("API", api_url, headers),
        ("ceiling", "/bench/ceiling/?limit=50", {}),
        ("ceiling-min", "/bench/ceiling-min/?limit=50", {}),
    ):
        parts = _common.PartTimer("SQL (all queries)")
        parts.wrap(tokens, "authenticate", "token lookup (middleware)")
        parts.wrap(middleware, "membership_in", "membership lookup (middleware, sessions only)")
        parts.wrap(views.APIView, "check_throttles", "throttles (2, cache)")
        parts.wrap(StaffAPIView, "check_throttles", "throttles (2, cache)")
        parts.wrap(caseload, "caseload", "caseload() builds the queryset (lazy)")
        parts.wrap(keyset, "paginate", "keyset page (the caseload query)")
        parts.wrap(serializers.ListSerializer, "to_representation", "serializer")
        parts.wrap(renderers.JSONRenderer, "render", "JSON rendering")
        parts.wrap(audit, "record", "audit.record (INSERT)")
        parts.wrap(api_caseload, "couple_rows", "rows to JSON values + partners, clinicians")
        totals = []
        per_run: dict[str, list[float]] = {}
        queries = []
        try:
            for i in range(n + 5):
                parts.begin()
                with connection.execute_wrapper(parts.query):
                    started = time.perf_counter()
                    response = client.get(url, **extra)
                    took = time.perf_counter() - started
                assert response.status_code == 200, response.content[:500]
                if i < 5:
                    continue  # warm-up
                totals.append(took)
                queries.append(parts.statements)
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

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/ceiling/", timeout=5):
                return True
        except OSError:
            return False

    if _common.wait_until(up, process, 60, 0.3):
        return process
    _common.stop_process(process)
    raise SystemExit("gunicorn did not start:\n" + (TMP / "gunicorn.log").read_text()[-3000:])


def fetch(port: int, path: str, token: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http server
        return response.status, response.read()


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
        "p50": _common.percentile(every, 50),
        "p90": _common.percentile(every, 90),
        "p99": _common.percentile(every, 99),
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
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: any free)")
    args = parser.parse_args()

    # A plain `kill` still drops the database and stops gunicorn (finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    configure(args.rate)
    _common.create_database(DB_NAME)
    server = None
    try:
        _common.migrate()
        _common.print_facts(environment())
        seconds, world = _common.timed(lambda: build_caseload(N_COUPLES))
        print(f"built {world['counts']} in {seconds:.1f} s")
        token = world["token"]
        api_path = f"/api/v1/p/{SLUG}/couples/?limit=50"
        ceilings = {
            "ceiling": "/bench/ceiling/?limit=50",
            "ceiling-min": "/bench/ceiling-min/?limit=50",
        }

        if args.in_process:
            print("\n== In process (Django test client, one request at a time) ==")
            print_in_process(in_process(world, args.in_process))

        port = args.port or free_port()
        server = start_gunicorn(port, args.workers)
        status, api_body = fetch(port, api_path, token)
        assert status == 200
        api_rows = json.loads(api_body)["results"]
        for name, path in ceilings.items():
            status, ceiling_body = fetch(port, path, None)
            assert status == 200
            ceiling_rows = json.loads(ceiling_body)["results"]
            same = [r["uuid"] for r in api_rows] == [r["uuid"] for r in ceiling_rows]
            print(
                f"\nfirst page: API {len(api_rows)} couples ({len(api_body)} bytes), {name} "
                f"{len(ceiling_rows)} couples ({len(ceiling_body)} bytes); same couples in the "
                f"same order: {same}; the same results: {api_rows == ceiling_rows}"
            )
            if not same or len(api_rows) != 50:
                raise SystemExit("the endpoints do not return the same page")
            if name == "ceiling" and api_rows != ceiling_rows:
                raise SystemExit("the ceiling's results differ from the API's")
        tool = "wrk 2 threads" if shutil.which("wrk") else "Python threads (http.client)"
        print(
            f"\n== gunicorn -w {args.workers} (sync), {tool}, {args.connections} connections, "
            f"{args.warmup} s warm-up + {args.duration} s per endpoint =="
        )
        master = server.pid
        groups = {
            "gunicorn": lambda p, pp, c: p == master or pp == master,
            "postgres (this db)": lambda p, pp, c: DB_NAME in c and "postgres" in c,
        }
        results = {}
        runs = [("API", api_path, token), *((name, path, None) for name, path in ceilings.items())]
        for name, path, auth in runs:
            load(port, path, auth, args.warmup, args.connections)
            meter = _common.CpuMeter(groups, own_usage="load generator + this script").begin()
            results[name] = load(port, path, auth, args.duration, args.connections)
            results[name]["cpu"] = meter.end()
        for name, r in results.items():
            print(
                f"  {name:11} {r['rps']:8.1f} req/s   p50 {r['p50'] * 1000:7.2f} ms   "
                f"p90 {r['p90'] * 1000:7.2f} ms   p99 {r['p99'] * 1000:7.2f} ms   "
                f"({r['requests']} requests, non-2xx {r['non_2xx']}, "
                f"socket errors {r['socket_errors']})"
            )
            _common.print_cpu(r["cpu"], " " * 11, "during this run")
            # What one request costs the machine, whatever else was running: the CPU
            # seconds of gunicorn and this database's backends over the requests served.
            served = r["cpu"]["gunicorn"] + r["cpu"]["postgres (this db)"]
            r["cpu_ms"] = served * args.duration / max(1, r["requests"]) * 1000
            print(f"{' ' * 11}CPU per request (gunicorn + postgres): {r['cpu_ms']:.2f} ms")
        for name in ceilings:
            ratio = results[name]["rps"] / results["API"]["rps"]
            print(f"  ratio {name} rps / API rps: {ratio:.2f}x")
            cost = results["API"]["cpu_ms"] / results[name]["cpu_ms"]
            print(f"  ratio API / {name} CPU per request: {cost:.2f}x")
            print(
                f"  ratio API p99 / {name} p99: {results['API']['p99'] / results[name]['p99']:.2f}x"
            )
        if any(r["non_2xx"] for r in results.values()):
            raise SystemExit("some requests failed: the figures above are not valid")
        _common.print_end_state()
    finally:
        if server is not None:
            _common.stop_process(server)
        _common.release_database(DB_NAME, args.keep_db)
        # The throttle histories in the cache expire by themselves after their window.
        print(f"gunicorn log in {TMP}")


if __name__ == "__main__":
    main()
