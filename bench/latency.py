"""Submit-to-scored latency through Redis and a real Celery worker process.

    .venv/bin/python bench/latency.py [--submissions 200] [--warmup 10] [--keep-db]

Creates its own database (attune_bench_latency), starts `celery worker` as a
child process (like tests/worker.py) on redis://127.0.0.1:6379/0 with queues
under a prefix unique to this run, submits responses one at a time through
``assessments.services.responses.submit`` and polls each until ``scored_at``
is set. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import _common

DB_NAME = "attune_bench_latency"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = f"bench-latency-{os.getpid()}-"
POLL_S = 0.002


@contextmanager
def worker(
    log_path: Path, pool: str = "prefork", concurrency: int = 1, extra: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """`celery worker` on this run's queues, stopped (by its pid) afterwards."""
    from django.conf import settings

    assert settings.QUEUE_PREFIX == PREFIX
    queues = [settings.CELERY_TASK_DEFAULT_QUEUE, settings.REPORTS_QUEUE]
    log_file = log_path.open("wb")
    process = _common.celery_worker(
        log_file,
        queues,
        hostname=f"bench-latency-{os.getpid()}@%h",
        pool=pool,
        concurrency=concurrency,
        extra=extra,
    )
    try:
        if not _common.wait_until(lambda: b"ready." in log_path.read_bytes(), process, 60, 0.1):
            raise RuntimeError("worker did not start:\n" + log_path.read_text()[-4000:])
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def _log_time(text: str) -> datetime:
    # Only differences are used, so the log's (local) zone does not matter.
    return datetime.strptime(text + " +0000", "%Y-%m-%d %H:%M:%S,%f %z")


def worker_times(log: str) -> tuple[list[float], list[float]]:
    """Per score_response task, from the worker's log: run time, and the wait between the
    main process logging "received" and the task finishing, minus the run time (ms)."""
    stamp = (
        r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO \S+ Task assessments\.tasks\.score_response"
    )
    received: dict[str, datetime] = {}
    runs, waits = [], []
    for line in log.splitlines():
        got = re.match(stamp + r"\[([^\]]+)\] received", line)
        if got:
            received[got.group(2)] = _log_time(got.group(1))
            continue
        done = re.match(stamp + r"\[([^\]]+)\] succeeded in ([\d.]+)s", line)
        if done and done.group(2) in received:
            finished = _log_time(done.group(1))
            run = float(done.group(3)) * 1000
            runs.append(run)
            waits.append((finished - received[done.group(2)]).total_seconds() * 1000 - run)
    return runs, waits


def forget_queues() -> None:
    """Delete this run's (uniquely prefixed) queue keys from Redis."""
    import redis

    client = redis.Redis.from_url(BROKER)
    keys = list(client.scan_iter(match=f"*{PREFIX}*"))
    if keys:
        client.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--pool", default="prefork", choices=["prefork", "solo", "threads"], help="worker pool"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="worker concurrency")
    parser.add_argument(
        "--worker-arg",
        action="append",
        default=[],
        help="extra `celery worker` argument, e.g. --worker-arg=--prefetch-multiplier=4",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--profile-task",
        action="store_true",
        help="afterwards, re-run scoring.score() in-process on 50 responses under cProfile",
    )
    args = parser.parse_args()

    _common.configure(DB_NAME, broker=BROKER, CELERY_QUEUE_PREFIX=PREFIX)
    try:
        with _common.bench_database(DB_NAME, keep=args.keep_db):
            run(args)
    finally:
        forget_queues()


def prepare(n: int) -> list[tuple[Any, dict[str, Any]]]:
    """A practice with scored history and norms, and n drafts waiting to be submitted."""
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from assessments.models import Assignment, AssignmentStatus, Instrument, Occurrence
    from assessments.services import change
    from assessments.services.responses import draft_for, save_answers
    from clients.models import Partner
    from demo.synthetic import Person, simulate

    world = _common.build_world(couples=100, responses=3000, alerts=0, seed=11)
    change.estimate_norms()
    _common.analyze()
    print("history: " + ", ".join(f"{k} {v}" for k, v in world.counts.items()))
    rng = random.Random(12)
    today = timezone.localdate()
    with scopes_disabled():
        instruments = {
            i.key: i
            for i in Instrument.objects.filter(
                practice__isnull=True, key__in=["connection-pulse", "connection-signs"]
            )
        }
    drafts: list[tuple[Any, dict[str, Any]]] = []
    with scope(practice=world.practice), transaction.atomic():
        couple_ids = list(world.couple_ids)
        rng.shuffle(couple_ids)
        for couple_id in couple_ids:
            partners = list(Partner.objects.filter(couple_id=couple_id).order_by("position"))
            for key in ("connection-pulse", "connection-signs"):
                if len(drafts) >= n:
                    break
                assignment = Assignment.objects.create(
                    practice=world.practice,
                    couple_id=couple_id,
                    instrument=instruments[key],
                    first_due=today,
                    status=AssignmentStatus.FINISHED,
                    created_by=world.owner,
                )
                occurrence = Occurrence.objects.create(
                    practice=world.practice,
                    assignment=assignment,
                    couple_id=couple_id,
                    instrument=instruments[key],
                    sequence=1,
                    due_date=today + timedelta(days=2),
                    expected=2,
                )
                for partner in partners:
                    level = rng.random()
                    answers = simulate(instruments[key], Person("", level, level), 0.0, rng)
                    draft = draft_for(occurrence, partner)
                    # Half the drafts were filled in beforehand, half arrive with the submit.
                    if rng.random() < 0.5:
                        draft = save_answers(draft, answers)
                        answers = {}
                    drafts.append((draft, answers))
    return drafts[:n]


def run(args: argparse.Namespace) -> None:
    from django.db import transaction
    from django_scopes import scope, scopes_disabled

    from assessments.models import Response
    from assessments.services.responses import submit
    from practice.celery import app as celery_app

    print("environment:")
    _common.print_environment()
    # The point is the real path: tasks must go to the broker, not run here.
    assert celery_app.conf.task_always_eager is False
    print(
        f"broker {BROKER}, queue prefix {PREFIX!r}, "
        f"worker --pool {args.pool} --concurrency {args.concurrency} {' '.join(args.worker_arg)}"
    )
    drafts = prepare(args.submissions + args.warmup)
    practice = drafts[0][0].practice

    log_path = Path(tempfile.mkdtemp(prefix="attune-bench-worker-")) / "worker.log"
    observed, call_ms, worker_clock = [], [], []
    with worker(log_path, args.pool, args.concurrency, args.worker_arg) as process:
        print(f"worker pid {process.pid} ready (log {log_path})")
        for number, (draft, answers) in enumerate(drafts):
            with scope(practice=practice):
                wall = time.time()
                started = time.perf_counter()
                with transaction.atomic():
                    response, fresh = submit(draft, answers or None)
                committed = time.perf_counter()
                assert fresh
                deadline = started + 30
                while True:
                    with scopes_disabled():
                        scored_at = (
                            Response.objects.filter(pk=response.pk)
                            .values_list("scored_at", flat=True)
                            .first()
                        )
                    if scored_at is not None:
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(
                            f"response {response.pk} not scored in 30 s\n"
                            + log_path.read_text()[-4000:]
                        )
                    time.sleep(POLL_S)
                done = time.perf_counter()
            if number < args.warmup:
                continue
            observed.append((done - started) * 1000)
            call_ms.append((committed - started) * 1000)
            worker_clock.append((scored_at.timestamp() - wall) * 1000)
        assert process.poll() is None, "worker died"
    log = log_path.read_text(errors="replace")
    task_ms, dispatch_ms = worker_times(log)
    task_ms, dispatch_ms = task_ms[args.warmup :], dispatch_ms[args.warmup :]
    errors = [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]

    def line(label: str, values: list[float]) -> None:
        s = _common.Summary.of(values)
        print(
            f"  {label:44} p50 {s.median:7.1f}  p95 {s.p95:7.1f}  max {s.max:7.1f}  "
            f"mean {s.mean:7.1f}  min {s.min:6.1f} ms"
        )

    hop_ms = statistics.median(observed) - statistics.median(call_ms)
    hop_ms -= statistics.median(task_ms) if task_ms else 0
    print(f"\n{len(observed)} submissions after {args.warmup} warm-up, one at a time:")
    line("submit -> scored_at visible (polled)", observed)
    line("submit -> scored_at stamped (worker clock)", worker_clock)
    line("submit() + commit + enqueue (caller)", call_ms)
    if task_ms:
        line("score_response run time (worker log)", task_ms)
        line("received -> finished, minus run time (log)", dispatch_ms)
        slow = sum(1 for x in dispatch_ms if x > 100)
        print(f"  tasks that waited > 100 ms in the worker after 'received': {slow}")
    print(f"  worker log errors: {len(errors)}")
    for text in errors[:5]:
        print("   ", text)
    print(
        f"  poll interval {POLL_S * 1000:.0f} ms; median of the broker hop and polling "
        f"(observed - caller - task): {hop_ms:.1f} ms"
    )

    task_queries(practice, [d.pk for d, _ in drafts[args.warmup :]], args.profile_task)


def task_queries(practice: Any, response_ids: list[int], profile: bool) -> None:
    """What one score_response does, re-run in this process (scoring is idempotent)."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope

    from assessments.services.scoring import score

    with scope(practice=practice):
        score(response_ids[0])
        with CaptureQueriesContext(connection) as captured:
            score(response_ids[1])
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        print(
            f"  one scoring.score() re-run in-process: {len(captured)} SQL statements, "
            f"{sql_ms:.0f} ms SQL"
        )
        timings = []
        for pk in response_ids[:50]:
            started = time.perf_counter()
            score(pk)
            timings.append((time.perf_counter() - started) * 1000)
        print(
            f"  scoring.score() re-run in-process, 50 responses: "
            f"median {statistics.median(timings):.1f} ms, "
            f"p95 {_common.percentile(timings, 95):.1f} ms"
        )
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for pk in response_ids[:50]:
                score(pk)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
            print(out.getvalue())
            for q in captured.captured_queries:
                print(f"    {float(q['time']) * 1000:5.1f} ms  {q['sql'][:150]}")


if __name__ == "__main__":
    main()
