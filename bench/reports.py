"""Benchmark: the clinician PDF report, in process and through real Celery workers.

Run from the project root (it creates and drops its own database):

    .venv/bin/python bench/reports.py                 # everything
    .venv/bin/python bench/reports.py --profile       # also cProfile one generate()
    .venv/bin/python bench/reports.py --skip-bulk     # in-process part only

What it measures (see bench/README.md, "Report and API benchmarks"):

1. End-to-end task time: ``reports.services.generate()`` in this process (claim,
   snapshot, charts + HTML, WeasyPrint PDF/UA-1, private storage), N times.
2. The raw WeasyPrint render of the very same final HTML, N times, interleaved
   with (1) so that drift and noise hit both alike; the ratio of the medians is
   the pipeline overhead (target at most 1.25x).
3. A bulk run: one ``celery worker --concurrency 2`` (prefork: one main process
   and two pool children) on a unique reports queue on Redis; 100 reports are
   requested with ``request_batch`` (one task each) and the wall time until
   all are ready gives reports/minute. The RSS of the main process and of every
   pool child is sampled from /proc during the run (peak = VmHWM, target under
   300 MB); pool children that appear are counted as recycles.

Needs PostgreSQL (BENCH_PG_SERVER, default postgres://postgres@127.0.0.1:5432),
Redis (BENCH_BROKER_URL, default redis://127.0.0.1:6379/0) and pdfinfo.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import _common

# Run as a script, bench/ comes first on sys.path, and this file is called
# reports.py: the app's ``reports`` package must win.
_common.hide_bench_folder()

DB_NAME = os.environ.get("BENCH_REPORTS_DB", "attune_bench_reports")
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
QUEUE_PREFIX = f"bench-reports-{os.getpid()}-"
TMP = Path(tempfile.mkdtemp(prefix="attune-bench-reports-"))

KINDS = ("connection-pulse", "connection-signs", "everyday-bond", "elements-of-connection")
SAFETY = "safety-screen"
MONTHS = 12
HISTORY_START_DAYS = 350  # first administration this many days before today
PERIOD_DAYS = 365


def configure() -> None:
    """Environment for practice.settings: must run before django.setup()."""
    _common.configure(DB_NAME, broker=BROKER, tmp=TMP, CELERY_QUEUE_PREFIX=QUEUE_PREFIX)


def summary(values: list[float]) -> str:
    p95 = _common.percentile(values, 95)
    return (
        f"median {statistics.median(values) * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms"
        f"  min {min(values) * 1000:8.1f}  max {max(values) * 1000:8.1f}  (n={len(values)})"
    )


def environment() -> list[tuple[str, str]]:
    import weasyprint

    return _common.run_facts(("weasyprint", weasyprint.__version__))


# --- Data -----------------------------------------------------------------------

# The shared names, the subsets and order this practice was first measured with.
FIRST = _common.pick(
    _common.FIRST,
    "Robin Sam Avery Morgan Harper Quinn Reese Blair Jordan Casey Toby Lane Sasha Noel",
)
LAST = _common.pick(
    _common.LAST,
    "Alder Brook Fairweather Quillfeather Hart Marlowe Pennyworth Vale Thistlewood Larkspur Moss"
    " Kestrel Ashgrove Finch Brightwater Copperfield Reed Holloway Wrenfield Oakes",
)


def _person_class() -> type:
    from demo.synthetic import Person

    @dataclass
    class WavyPerson(Person):
        """The demo's linear drift from start to end, plus a slow wobble of some weeks."""

        wobble: float = 0.0
        phase: float = 0.0

        def level(self, fraction: float) -> float:
            wave = self.wobble * math.sin(2 * math.pi * (1.7 * fraction + self.phase))
            return min(0.97, max(0.03, super().level(fraction) + wave))

    return WavyPerson


def _trajectories(rng: random.Random, index: int) -> tuple[tuple[float, float], ...]:
    """(start, end) levels of both partners: improving, stable, worsening or diverging."""
    if index == 0:  # the couple the in-process runs report on: improving, one lagging
        return (0.30, 0.74), (0.36, 0.55)
    kind = rng.choices(["improving", "stable", "worsening", "diverging"], [45, 25, 15, 15])[0]
    base = rng.uniform(0.25, 0.75)
    if kind == "improving":
        return (base - 0.1, base + 0.25), (base - 0.05, base + rng.uniform(0.05, 0.3))
    if kind == "stable":
        return (base, base + rng.uniform(-0.05, 0.05)), (base + 0.05, base + 0.05)
    if kind == "worsening":
        return (base + 0.15, base - 0.2), (base + 0.1, base - rng.uniform(0.05, 0.25))
    return (base, base + 0.25), (base, base - 0.25)


def build_world(n_couples: int, seed: int = 20261125) -> dict[str, Any]:
    """A practice, one clinician, ``n_couples`` couples with a year of monthly answers.

    Each couple answers the four non-private built-in instruments monthly (both
    partners, 12 times) and the private safety screen once. Answers come from
    demo.synthetic.simulate() around a per-partner level that drifts and
    wobbles; everything is bulk-created and scored with the real scoring plan.
    """
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from assessments.models import (
        Assignment,
        AssignmentStatus,
        Occurrence,
    )
    from assessments.services import alerts, change
    from assessments.services.instruments import latest_published
    from clients.models import Couple, Partner, PortalState
    from demo.synthetic import simulate
    from practice.models import Membership, Practice, Role, User

    rng = random.Random(seed)
    person = _person_class()
    today = timezone.localdate()
    start = today - timedelta(days=HISTORY_START_DAYS)
    span = 30 * (MONTHS - 1)
    tz = timezone.get_current_timezone()

    def at(day: date, hour: int) -> datetime:
        return _common.aware(day, hour, rng.randint(0, 59), tz)

    with scopes_disabled(), transaction.atomic():
        practice = Practice.objects.create(
            name="Harbourlight Couples Therapy (bench)",
            slug="bench-reports",
            display_name="Harbourlight Couples Therapy",
            timezone="Europe/London",
        )
        clinician = User.objects.create_user(
            "clinician@bench-reports.test", "bench-password-2026", full_name="Dr. Clara Clinic"
        )
        Membership.objects.create(practice=practice, user=clinician, role=Role.CLINICIAN)
    with scope(practice=practice), transaction.atomic():
        instruments = {key: latest_published(key) for key in (*KINDS, SAFETY)}
        couples = Couple.objects.bulk_create(
            [
                Couple(
                    practice=practice,
                    label=f"{rng.choice(LAST)} & {rng.choice(LAST)} {i:03d}",
                    start_date=start - timedelta(days=7),
                )
                for i in range(n_couples)
            ]
        )
        Couple.clinicians.through.objects.bulk_create(
            [Couple.clinicians.through(couple_id=c.pk, user_id=clinician.pk) for c in couples]
        )
        partners: dict[tuple[int, int], Any] = {}
        people: dict[tuple[int, int], Any] = {}
        partner_rows = []
        for index, couple in enumerate(couples):
            for position, (a, b) in enumerate(_trajectories(rng, index), start=1):
                name = f"{rng.choice(FIRST)} {couple.label.split()[0 if position == 1 else 2]}"
                safety = ("ss01", "ss04") if (index == 0 or rng.random() < 0.08) else ()
                people[(couple.pk, position)] = person(
                    name,
                    a,
                    b,
                    safety_yes=safety if position == 1 else (),
                    wobble=rng.uniform(0.02, 0.07),
                    phase=rng.random(),
                )
                partner_rows.append(
                    Partner(
                        practice=practice,
                        couple=couple,
                        position=position,
                        display_name=name,
                        email=f"p{index}.{position}@bench-reports.test",
                        portal_state=PortalState.ACTIVE,
                    )
                )
        for partner in Partner.objects.bulk_create(partner_rows):
            partners[(partner.couple_id, partner.position)] = partner

        plan = [(key, [start + timedelta(days=30 * k) for k in range(MONTHS)]) for key in KINDS]
        plan.append((SAFETY, [start + timedelta(days=180)]))
        assignments = Assignment.objects.bulk_create(
            [
                Assignment(
                    practice=practice,
                    couple=couple,
                    instrument=instruments[key],
                    first_due=dates[0],
                    repeat_every=30 if len(dates) > 1 else None,
                    repeat_unit="days" if len(dates) > 1 else "",
                    status=AssignmentStatus.ACTIVE if len(dates) > 1 else AssignmentStatus.FINISHED,
                    next_due=dates[-1] + timedelta(days=30) if len(dates) > 1 else None,
                    created_by=clinician,
                    created_at=at(dates[0] - timedelta(days=2), 10),
                )
                for couple in couples
                for key, dates in plan
            ]
        )
        occurrences = Occurrence.objects.bulk_create(
            [
                _common.occurrence_row(
                    assignment,
                    sequence,
                    due,
                    submitted=2,
                    created_at=at(due - timedelta(days=2), 8),
                )
                for assignment, (_key, dates) in zip(assignments, plan * n_couples, strict=True)
                for sequence, due in enumerate(dates, start=1)
            ],
            batch_size=2000,
        )
        responses = []
        for occurrence in occurrences:
            instrument = occurrence.instrument
            for position in (1, 2):
                day = occurrence.due_date + timedelta(days=rng.choice([0, 0, 1, 2]))
                fraction = min(1.0, (day - start).days / span)
                when = at(day, 18 + position)
                answers = simulate(
                    instrument, people[(occurrence.couple_id, position)], fraction, rng
                )
                responses.append(
                    _common.response_row(
                        occurrence,
                        partners[(occurrence.couple_id, position)],
                        answers,
                        when,
                        started_before=timedelta(minutes=6),
                        scored_at=when + timedelta(seconds=3),
                        scoring_version="1",
                    )
                )
        responses, scores = _common.save_scored(responses)
        for response in responses:
            if response.instrument.is_private and any(response.answers.values()):
                alerts.raise_item_alerts(response)
    # Norms from the first administrations (200 per instrument here), as the nightly task does.
    change.estimate_norms()
    with scope(practice=practice), transaction.atomic():
        latest: dict[tuple[int, str], Any] = {}
        for response in responses:
            if not response.instrument.is_private:
                latest[(response.partner_id, response.instrument.key)] = response
        for response in latest.values():
            alerts.after_scoring(response)
    _common.analyze()
    return {
        "practice": practice,
        "clinician": clinician,
        "couples": couples,
        "counts": {
            "couples": len(couples),
            "occurrences": len(occurrences),
            "responses": len(responses),
            "scores": len(scores),
        },
    }


# --- In-process timings ------------------------------------------------------------


def new_report(world: dict[str, Any], couple: Any) -> Any:
    from django.utils import timezone

    from reports.models import Report, ReportKind

    today = timezone.localdate()
    return Report.objects.create(
        practice=world["practice"],
        couple=couple,
        kind=ReportKind.CLINICIAN,
        period_start=today - timedelta(days=PERIOD_DAYS),
        period_end=today,
        created_by=world["clinician"],
    )


def raw_render(html: str) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


def pdf_pages(pdf: bytes) -> str:
    path = TMP / "sample.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("Pages:"):
            return line.split()[-1]
    return "?"


class Stages(_common.PartTimer):
    """Times the parts of generate() from inside, by wrapping the functions it calls.

    Nested parts (charts inside report_html, SQL inside snapshot.build) are
    reported as nested.
    """

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, list[float]] = {}
        self.queries: list[int] = []

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        super().wrap(owner, attr, name)
        self.runs[name] = []

    def end(self) -> None:
        self.runs.setdefault("SQL", [])
        for name, values in self.runs.items():
            values.append(self.current.get(name, 0.0))
        self.queries.append(self.statements)


def in_process(world: dict[str, Any], runs: int, profile: bool) -> dict[str, Any]:
    import weasyprint
    from django.db import connection
    from django.db.models.fields.files import FieldFile
    from django_scopes import scope

    from reports import charts_for_report, render, snapshot
    from reports.models import ReportStatus
    from reports.services import generate

    couple = world["couples"][0]
    with scope(practice=world["practice"]):
        # Warm-up: imports (WeasyPrint, matplotlib), font discovery, template loading.
        for _ in range(2):
            done = generate(new_report(world, couple).pk)
            assert done is not None
            assert done.status == ReportStatus.READY, done.error
        # The final HTML of that report, exactly as render.render() built it.
        html = render.report_html(done.snapshot)
        raw_render(html)
        pdf = done.file.read()
        done.file.close()
        facts = {
            "pages": pdf_pages(pdf),
            "charts": html.count("<svg"),
            "html_kb": len(html.encode()) / 1024,
            "pdf_kb": len(pdf) / 1024,
        }
        print(
            f"report: {facts['pages']} pages, {facts['charts']} charts (<svg), "
            f"HTML {facts['html_kb']:.0f} KiB, PDF {facts['pdf_kb']:.0f} KiB"
        )

        e2e: list[float] = []
        raw: list[float] = []
        stages = Stages()
        stages.wrap(snapshot, "build", "snapshot.build")
        stages.wrap(render, "report_html", "report_html")
        stages.wrap(charts_for_report, "build", "charts (matplotlib)")
        stages.wrap(render, "html_to_pdf", "html_to_pdf")
        stages.wrap(weasyprint.HTML, "write_pdf", "HTML.write_pdf")
        stages.wrap(FieldFile, "save", "file save")
        meter = _common.CpuMeter(
            {
                "this script": lambda p, pp, c: p == os.getpid(),
                "postgres (this db)": lambda p, pp, c: DB_NAME in c and "postgres" in c,
            }
        ).begin()
        try:
            for run in range(runs):
                report = new_report(world, couple)
                stages.begin()
                with connection.execute_wrapper(stages.query):
                    started = time.perf_counter()
                    done = generate(report.pk)
                    e2e.append(time.perf_counter() - started)
                stages.end()
                assert done is not None
                assert done.status == ReportStatus.READY, done.error
                # Interleaved, so that noise and drift touch both series alike.
                started = time.perf_counter()
                raw_render(html)
                raw.append(time.perf_counter() - started)
                print(f"  run {run + 1:2d}: generate {e2e[-1]:.3f} s, raw {raw[-1]:.3f} s")
        finally:
            stages.restore()
            cpu = meter.end()

        if profile:
            profile_generate(world, couple, pdf)
    return {"e2e": e2e, "raw": raw, "stages": stages, "cpu": cpu, **facts}


def _print_profile(profiler: cProfile.Profile, title: str, name: str) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    profiler.dump_stats(str(TMP / name))
    print(f"\n--- {title} (saved as {TMP / name}) ---")
    print(out.getvalue())


def profile_generate(world: dict[str, Any], couple: Any, pdf: bytes) -> None:
    """cProfile generate() whole, then with the WeasyPrint call replaced by a stub.

    On Python 3.12 the whole-run profile loses the frames above WeasyPrint
    (its cffi callbacks confuse cProfile), so the second profile, with
    html_to_pdf() answering the PDF bytes at once, is the one that shows
    where the time outside WeasyPrint goes.
    """
    from reports import render
    from reports.services import generate

    profiler = cProfile.Profile()
    report = new_report(world, couple)
    profiler.enable()
    generate(report.pk)
    profiler.disable()
    _print_profile(profiler, "cProfile of one generate()", "generate.prof")

    real = render.html_to_pdf
    render.html_to_pdf = lambda html, fetcher=None: pdf
    try:
        report = new_report(world, couple)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        generate(report.pk)
        profiler.disable()
        took = time.perf_counter() - started
        report = new_report(world, couple)
        started = time.perf_counter()
        generate(report.pk)
        bare = time.perf_counter() - started
    finally:
        render.html_to_pdf = real
    print(f"generate() without WeasyPrint: {bare * 1000:.0f} ms ({took * 1000:.0f} ms profiled)")
    _print_profile(profiler, "cProfile of generate() without WeasyPrint", "generate-no-pdf.prof")


# --- Celery bulk run -------------------------------------------------------------


def _proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _sep, rest = line.partition(":")
                if key in {"VmRSS", "VmHWM"}:
                    values[key] = int(rest.split()[0])  # KiB
    except OSError:
        pass
    return values


def _children(pid: int) -> list[int]:
    return [child for child, fields in _common.proc_stats() if int(fields[1]) == pid]


class RssSampler(threading.Thread):
    """Samples VmRSS/VmHWM of the worker's main process and its pool children."""

    def __init__(self, main_pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.main_pid = main_pid
        self.interval = interval
        self.peak: dict[int, int] = {}  # pid -> highest VmHWM seen, KiB
        self.first_seen: dict[int, float] = {}
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            time.sleep(self.interval)

    def sample(self) -> None:
        for pid in [self.main_pid, *_children(self.main_pid)]:
            status = _proc_status(pid)
            if not status:
                continue
            self.first_seen.setdefault(pid, time.monotonic())
            high = max(status.get("VmHWM", 0), status.get("VmRSS", 0))
            self.peak[pid] = max(self.peak.get(pid, 0), high)

    def stop(self) -> None:
        self.stop_event.set()
        self.join()
        self.sample()


def start_worker(log_path: Path, concurrency: int = 2) -> subprocess.Popen[bytes]:
    from django.conf import settings

    process = _common.celery_worker(
        log_path.open("wb"),
        [settings.REPORTS_QUEUE],
        hostname=f"{QUEUE_PREFIX}worker@%h",
        concurrency=concurrency,
        extra=["--without-heartbeat"],
        own_session=True,
    )
    if _common.wait_until(lambda: b"ready." in log_path.read_bytes(), process, 90, 0.2):
        return process
    _common.stop_process(process)
    raise SystemExit("worker did not start:\n" + log_path.read_text(errors="replace")[-3000:])


def bulk(
    world: dict[str, Any], n_reports: int, concurrency: int = 2, first: int = 0
) -> dict[str, Any]:
    from django.conf import settings
    from django.utils import timezone
    from django_scopes import scope

    from practice.celery import app
    from reports.models import Report, ReportKind, ReportStatus
    from reports.services import request_batch

    assert not app.conf.task_always_eager
    couples = world["couples"]
    chosen = [couples[(first + i) % len(couples)] for i in range(n_reports)]
    if len({c.pk for c in chosen}) != len(chosen):
        raise SystemExit("request_batch needs one couple per report: build more couples")
    log_path = TMP / f"worker-{concurrency}.log"
    worker = start_worker(log_path, concurrency)
    sampler = RssSampler(worker.pid)
    sampler.sample()
    initial_children = set(_children(worker.pid))
    sampler.start()
    main_pid = worker.pid
    meter = _common.CpuMeter(
        {
            "celery worker": lambda p, pp, c: p == main_pid or pp == main_pid,
            "postgres (this db)": lambda p, pp, c: DB_NAME in c and "postgres" in c,
            "this script": lambda p, pp, c: p == os.getpid(),
        }
    ).begin()
    today = timezone.localdate()
    try:
        with scope(practice=world["practice"]):
            started = time.perf_counter()
            batch = request_batch(
                couples=chosen,
                practice=world["practice"],
                kind=ReportKind.CLINICIAN,
                period_start=today - timedelta(days=PERIOD_DAYS),
                period_end=today,
                actor=world["clinician"],
            )
            queued = time.perf_counter() - started
            rows = Report.objects.filter(batch=batch)
            deadline = time.monotonic() + 30 * 60
            finished = 0
            while time.monotonic() < deadline:
                finished = rows.filter(status__in=[ReportStatus.READY, ReportStatus.FAILED]).count()
                if finished == n_reports:
                    break
                if worker.poll() is not None:
                    raise SystemExit("the worker died:\n" + log_path.read_text()[-3000:])
                time.sleep(0.25)
            wall = time.perf_counter() - started
            reports = list(rows.values("status", "attempts", "started_at", "finished_at"))
            # A child that reached its task limit on the last report is replaced just after.
            time.sleep(3)
    finally:
        cpu = meter.end()
        sampler.stop()
        _common.stop_process(worker)
    if finished != n_reports:
        raise SystemExit(f"only {finished} of {n_reports} reports finished in time")
    failed = sum(1 for r in reports if r["status"] != ReportStatus.READY)
    task_times = [(r["finished_at"] - r["started_at"]).total_seconds() for r in reports]
    log = log_path.read_text(errors="replace")
    children = [pid for pid in sampler.peak if pid != worker.pid]
    return {
        "n": n_reports,
        "wall": wall,
        "queued": queued,
        "per_minute": n_reports / wall * 60,
        "failed": failed,
        "retried": sum(1 for r in reports if r["attempts"] > 1),
        "task_times": task_times,
        "main_peak_kib": sampler.peak.get(worker.pid, 0),
        "children": [(pid, sampler.peak[pid], pid in initial_children) for pid in children],
        "recycles": len(set(children) - initial_children),
        "memory_recycles": log.count("exceeding memory limit"),
        "worker_lost": log.count("WorkerLostError"),
        "max_tasks_per_child": settings.CELERY_WORKER_MAX_TASKS_PER_CHILD,
        "max_memory_per_child": settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD,
        "log": str(log_path),
        "cpu": cpu,
    }


def _clean_redis() -> None:
    """Remove this run's own queues and bindings (their names carry this run's prefix)."""
    try:
        import redis

        client = redis.Redis.from_url(BROKER)
        for key in client.scan_iter(match=f"*{QUEUE_PREFIX}*"):
            client.delete(key)
    except Exception as exc:
        print(f"(could not clean the Redis queue keys: {exc})")


def print_stages(stages: Stages, e2e: list[float], raw: list[float]) -> None:
    """Where generate()'s time goes, per run: medians of each part and of what is left."""
    runs = stages.runs
    parts = {
        "snapshot.build (incl. its SQL)": runs["snapshot.build"],
        "report_html": runs["report_html"],
        "  charts (matplotlib, 6 SVGs)": runs["charts (matplotlib)"],
        "  template rendering": [
            a - b for a, b in zip(runs["report_html"], runs["charts (matplotlib)"], strict=True)
        ],
        "html_to_pdf (app: fetcher, base_url)": runs["html_to_pdf"],
        "  HTML parse + setup (html_to_pdf - write_pdf)": [
            a - b for a, b in zip(runs["html_to_pdf"], runs["HTML.write_pdf"], strict=True)
        ],
        "  HTML.write_pdf (WeasyPrint)": runs["HTML.write_pdf"],
        "file save (private storage)": runs["file save"],
        "rest: claim, snapshot UPDATE, lock, save": [
            total - a - b - c - d
            for total, a, b, c, d in zip(
                e2e,
                runs["snapshot.build"],
                runs["report_html"],
                runs["html_to_pdf"],
                runs["file save"],
                strict=True,
            )
        ],
        "all SQL in generate() (nested above)": runs["SQL"],
    }
    middle = statistics.median(e2e)
    print(f"  parts of generate() (n={len(e2e)}; share of the median generate()):")
    for name, values in parts.items():
        share = statistics.median(values) / middle * 100
        print(
            f"    {name:46} median {statistics.median(values) * 1000:7.1f} ms"
            f"  p95 {_common.percentile(values, 95) * 1000:7.1f} ms  {share:5.1f} %"
        )
    print(f"    SQL queries per generate(): {statistics.median(stages.queries):.0f}")
    outside = [t - w for t, w in zip(e2e, runs["HTML.write_pdf"], strict=True)]
    print(
        "  generate() outside WeasyPrint's write_pdf: median "
        f"{statistics.median(outside) * 1000:.0f} ms; median(generate) - median(raw) = "
        f"{(middle - statistics.median(raw)) * 1000:.0f} ms"
    )


# --- Main ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="in-process runs (default 20)")
    parser.add_argument("--bulk", type=int, default=100, help="reports in the Celery bulk run")
    parser.add_argument("--skip-bulk", action="store_true", help="no Celery bulk run")
    parser.add_argument(
        "--processes",
        default="2",
        help="worker pool sizes of the bulk runs, one run each, on different couples "
        "(e.g. 1,2: the issue-14 scaling ratio)",
    )
    parser.add_argument("--skip-in-process", action="store_true", help="bulk runs only")
    parser.add_argument("--profile", action="store_true", help="cProfile one generate()")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()

    # A plain `kill` still drops the database and stops the worker (finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    configure()
    _common.create_database(DB_NAME)
    try:
        _common.migrate()
        _common.print_facts(environment())
        pools = [int(n) for n in args.processes.split(",")]
        seconds, world = _common.timed(lambda: build_world(max(args.bulk, 1) * len(pools)))
        print(f"built {world['counts']} in {seconds:.1f} s")

        if not args.skip_in_process:
            report_in_process(world, args)
        if not args.skip_bulk:
            throughput = {}
            for number, pool in enumerate(pools):
                throughput[pool] = report_bulk(world, args.bulk, pool, number * args.bulk)
            if len(throughput) > 1:
                low, high = min(throughput), max(throughput)
                ratio = throughput[high] / throughput[low]
                print(
                    f"\n== Throughput with {high} worker processes / with {low}: {ratio:.2f}x "
                    f"(issue 14 target >= 1.8x for 2 / 1: "
                    f"{'met' if ratio >= 1.8 else 'MISSED'}) =="
                )
        _common.print_end_state()
    finally:
        _common.release_database(DB_NAME, args.keep_db)
        # Our queues (reports, and default where building the data queued alert mails).
        _clean_redis()
        # The PDFs go; the worker log and any profiles stay for a look afterwards.
        shutil.rmtree(TMP / "private", ignore_errors=True)
        print(f"worker log and profiles (if any) are in {TMP}")


def report_in_process(world: dict[str, Any], args: argparse.Namespace) -> None:
    result = in_process(world, args.runs, args.profile)
    e2e, raw = result["e2e"], result["raw"]
    print("\n== End-to-end generate() vs raw WeasyPrint (same HTML) ==")
    print(f"  generate()      {summary(e2e)}")
    print(f"  raw write_pdf   {summary(raw)}")
    ratio = statistics.median(e2e) / statistics.median(raw)
    verdict = "met" if ratio <= 1.25 else "MISSED"
    print(f"  ratio of medians {ratio:.3f}x  (target <= 1.25x: {verdict})")
    print(f"  ratio of p95s    {_common.percentile(e2e, 95) / _common.percentile(raw, 95):.3f}x")
    print_stages(result["stages"], e2e, raw)
    _common.print_cpu(result["cpu"])


def report_bulk(world: dict[str, Any], n_reports: int, pool: int, first: int) -> float:
    """One bulk run with a worker of ``pool`` processes; returns reports per minute."""
    print(f"\n== Bulk run: {n_reports} reports, 1 worker --concurrency {pool} (prefork) ==")
    b = bulk(world, n_reports, pool, first)
    print(f"  wall {b['wall']:.1f} s (request_batch itself {b['queued']:.2f} s)")
    print(f"  throughput {b['per_minute']:.1f} reports/minute")
    print(f"  failed {b['failed']}, delivered more than once {b['retried']}")
    print(f"  in-worker task time: {summary(b['task_times'])}")
    mib = 1024
    print(f"  peak RSS main process    {b['main_peak_kib'] / mib:7.1f} MiB")
    for pid, peak, initial in b["children"]:
        role = "pool child" if initial else "pool child (replacement)"
        print(f"  peak RSS {role:25} pid {pid}: {peak / mib:7.1f} MiB ({peak} KiB)")
    top = max([p for _, p, _ in b["children"]] or [0])
    print(
        f"  highest pool child {top / mib:.1f} MiB = {top * 1.024:.0f} kB "
        f"(target < 300 MB: {'met' if top * 1.024 < 300_000 else 'MISSED'})"
    )
    print(
        f"  recycled pool children: {b['recycles']} "
        f"(of which over the memory limit, from the log: {b['memory_recycles']}); "
        f"settings: max tasks/child {b['max_tasks_per_child']}, "
        f"max memory/child {b['max_memory_per_child']} KiB"
    )
    print(f"  WorkerLostError in log: {b['worker_lost']}; log {b['log']}")
    _common.print_cpu(b["cpu"])
    print(f"  loadavg {_common.loadavg()}")
    return float(b["per_minute"])


if __name__ == "__main__":
    main()
