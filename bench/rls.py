"""What the second wall costs: the caseload page with and without the row-level security wrapper.

    .venv/bin/python bench/rls.py [--rounds 6] [--reps 40]

Builds its own PostgreSQL database (attune_bench_rls: 300 couples on one
clinician's caseload), then times the clinician's caseload page through
Django's test Client in alternating rounds: with practice/rls.py's query
wrapper on the connection (as the app runs) and with it removed. Alternating
rounds share the machine's background load. Prints the medians and the
statements one request sends (transaction control counted apart).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import _common

DB_NAME = "attune_bench_rls"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    _common.configure(DB_NAME)
    with _common.bench_database(DB_NAME, keep=args.keep_db):
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from practice import rls

    _common.print_environment()
    world = _common.build_world(
        couples=400, responses=4000, clinician_couples=300, open_occurrences=100, alerts=50
    )
    _common.analyze()
    client = Client()
    client.force_login(world.clinician)
    url = f"/p/{world.practice.slug}/"
    for _ in range(10):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    statements = [q["sql"] for q in captured.captured_queries]
    control = sum(s in {"BEGIN", "COMMIT"} for s in statements)
    print(f"one request: {len(statements) - control} statements, {control} BEGIN/COMMIT")

    def timed_round(wrapped: bool) -> list[float]:
        if not wrapped:
            connection.execute_wrappers.remove(rls.follow_scope)
        try:
            times = []
            for _ in range(args.reps):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            return times
        finally:
            if not wrapped:
                connection.execute_wrappers.append(rls.follow_scope)

    gc.collect()
    results: dict[bool, list[float]] = {True: [], False: []}
    for n in range(args.rounds):
        for wrapped in (n % 2 == 0, n % 2 == 1):
            results[wrapped] += timed_round(wrapped)
    for wrapped, label in ((False, "without the wrapper"), (True, "with the wrapper (as run)")):
        times = results[wrapped]
        print(
            f"{label:28} n={len(times)} median {statistics.median(times):6.1f} ms"
            f"  p95 {_common.percentile(times, 95):6.1f} ms"
        )


if __name__ == "__main__":
    main()
