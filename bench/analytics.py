"""Outcomes page benchmark: 300 couples and 7,000 responses on PostgreSQL.

    .venv/bin/python bench/analytics.py [--couples 300] [--responses 7000] [--reps 40]
                                        [--keep-db] [--profile]

Builds one practice with bench/_common.build_world (scores included; ten
clinicians, one of them with ``--caseload`` couples), estimates norms so every
multi-item form has change classes, then asks for the Outcomes page through
Django's test Client as the owner (every couple, and one clinician's caseload)
and as that clinician, plus the API and the CSV. Prints median and p95 per
scenario, the queries the service makes and (``--profile``) where the time goes.
Charts are cached by content like in production; the first request of each
scenario (which draws them) is reported on its own. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time

import _common

DB_NAME = "attune_bench_analytics"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--couples", type=int, default=300)
    parser.add_argument("--responses", type=int, default=7000)
    parser.add_argument("--caseload", type=int, default=40)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    _common.configure(DB_NAME)
    with _common.bench_database(DB_NAME, keep=args.keep_db):
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from assessments.services import change

    print("environment:")
    _common.print_environment()
    seconds, world = _common.timed(
        lambda: _common.build_world(
            couples=args.couples, responses=args.responses, clinician_couples=args.caseload
        )
    )
    change.estimate_norms()
    _common.analyze()
    print(f"built in {seconds:.1f} s: ", ", ".join(f"{k} {v}" for k, v in world.counts.items()))
    _common.print_facts(_common.run_facts())
    settings.DEBUG = False
    from django.utils import timezone
    from django_scopes import scope

    from assessments.services import analytics as service

    today = timezone.localdate()
    filters = service.Filters(*service.default_period(today))
    with scope(practice=world.practice), CaptureQueriesContext(connection) as captured:
        found = service.practice_outcomes(world.practice, filters, today)
    print(
        f"  the service alone: {len(captured.captured_queries)} queries for "
        f"{len(found)} forms (seven, plus one norms lookup per form without published norms)"
    )

    owner, clinician = Client(), Client()
    owner.force_login(world.owner)
    clinician.force_login(world.clinician)
    base = f"/p/{world.practice.slug}/analytics/"
    api = f"/api/v1/p/{world.practice.slug}/analytics/"
    mine = f"clinician={world.clinician.uuid}"
    scenarios = [
        ("owner, every couple", owner, base),
        ("owner, one caseload", owner, f"{base}?{mine}"),
        ("clinician, own caseload", clinician, base),
        ("owner, API", owner, api),
        ("owner, CSV", owner, base + "outcomes.csv"),
    ]
    gc.collect()
    rows = []
    for name, client, url in scenarios:
        started = time.perf_counter()
        first = client.get(url)
        cold = (time.perf_counter() - started) * 1000
        assert first.status_code == 200, (url, first.status_code)
        if first.streaming:
            b"".join(first.streaming_content)
        times = []
        for _ in range(args.reps):
            started = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
        summary = _common.Summary.of(times)
        rows.append((name, cold, summary))
        print(
            f"  {name:26} first {cold:7.1f} ms  median {summary.median:7.1f}  "
            f"p95 {summary.p95:7.1f}  max {summary.max:7.1f}  (n={summary.n})"
        )
    print()
    print("| scenario | first request ms | median ms | p95 ms |")
    print("|---|---|---|---|")
    for name, cold, summary in rows:
        print(f"| {name} | {cold:.0f} | {summary.median:.0f} | {summary.p95:.0f} |")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(5):
            owner.get(base)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)
    _common.print_end_state()


if __name__ == "__main__":
    main()
