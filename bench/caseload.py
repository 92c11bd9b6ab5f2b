"""Caseload page benchmark: a 300-couple clinician and the owner in a 2,000-couple practice.

    .venv/bin/python bench/caseload.py [--reps 200] [--budget 20] [--jit app|on]
        [--caseload 300] [--plans] [--queries] [--profile] [--keep-db]

Builds its own PostgreSQL database (attune_bench_caseload), times GET requests
to the caseload page through Django's test Client, prints median/p95, the
queries one request makes, and EXPLAIN ANALYZE of the page's couples query
and of the paginator's count query. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

import _common

DB_NAME = "attune_bench_caseload"
TARGET_P95_MS = 150.0


@dataclass
class Scenario:
    name: str
    who: str  # "clinician" or "owner"
    query: str


def scenarios(q: str, clinician_last: int, owner_last: int) -> list[Scenario]:
    clinician = [
        ("default (alerts first)", ""),
        ("?sort=label", "sort=label"),
        ("?sort=-connection", "sort=-connection"),
        ("?attention=1", "attention=1"),
        (f"?q={q}", f"q={q}"),
        (f"?page={clinician_last} (last)", f"page={clinician_last}"),
    ]
    owner = [
        ("default (active, alerts first)", ""),
        ("?status=all", "status=all"),
        ("?status=all&sort=-connection", "status=all&sort=-connection"),
        ("?status=all&sort=due", "status=all&sort=due"),
        ("?attention=1", "attention=1"),
        ("?status=all&page=10", "status=all&page=10"),
        ("?status=all&page=40", "status=all&page=40"),
        (f"?status=all&page={owner_last} (last)", f"status=all&page={owner_last}"),
    ]
    return [Scenario(f"clinician {name}", "clinician", query) for name, query in clinician] + [
        Scenario(f"owner {name}", "owner", query) for name, query in owner
    ]


NEXT_LINK = re.compile(r'href="\?([^"]*)" rel="next"')


def nth_page(client: Any, url: str) -> str:
    """The URL of page N (``page=N`` in ``url``), reached by following the Next links.

    The caseload pages by keyset cursor; a page number is only how a scenario is named.
    """
    import html

    base, _, query = url.partition("?")
    wanted = int(re.search(r"page=(\d+)", query).group(1))  # type: ignore[union-attr]
    current = base + "?" + re.sub(r"&?page=\d+", "", query).lstrip("&")
    for _ in range(wanted - 1):
        found = NEXT_LINK.search(client.get(current).content.decode())
        if not found:
            break
        current = base + "?" + html.unescape(found.group(1))
    return current


@dataclass
class Explained:
    execution: float = 0.0  # ms, median of runs
    planning: float = 0.0
    jit: float = 0.0  # ms of JIT compilation inside the execution time
    text: str = ""


def explain(sql: str, runs: int = 3) -> Explained:
    """EXPLAIN ANALYZE the statement a few times; median times and one text plan."""
    from django.db import connection

    executions, plannings, jits = [], [], []
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
            doc = raw[0] if isinstance(raw, list) else raw
            executions.append(doc["Execution Time"])
            plannings.append(doc["Planning Time"])
            timing = doc.get("JIT", {}).get("Timing", {})
            total = timing.get("Total", 0.0)
            jits.append(total if isinstance(total, int | float) else 0.0)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        text = "\n".join(row[0] for row in cursor.fetchall())
    return Explained(
        statistics.median(executions),
        statistics.median(plannings),
        statistics.median(jits),
        text,
    )


def classify(sql: str) -> str:
    """'page' for the couples query of the page, 'count' for the paginator's count."""
    if sql.startswith("SELECT COUNT(*)") and 'FROM "clients_couple"' in sql:
        return "count"
    if sql.startswith('SELECT "clients_couple"."id"') and "LIMIT" in sql:
        return "page"
    return ""


class SqlClock:
    """An execute wrapper adding up the time spent in cursor.execute."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--couples", type=int, default=2000)
    parser.add_argument("--responses", type=int, default=20000)
    parser.add_argument("--caseload", type=int, default=300)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--budget", type=float, default=20.0, help="max seconds of timed requests per scenario"
    )
    parser.add_argument(
        "--jit",
        choices=["app", "on"],
        default="app",
        help="'app': the app's own setting (JIT off); 'on': PostgreSQL's default JIT, to compare",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN ANALYZE plans")
    parser.add_argument("--profile", action="store_true", help="cProfile 50 default requests")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one request")
    args = parser.parse_args()

    query = "?options=-c%20jit%3Don" if args.jit == "on" else ""
    _common.configure(DB_NAME, db_query=query)
    with _common.bench_database(DB_NAME, keep=args.keep_db):
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from assessments.views_caseload import PAGE_SIZE

    print("environment:")
    _common.print_environment()
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        print(f"  {'jit':16} {cursor.fetchone()[0]}")
    seconds, world = _common.timed(
        lambda: _common.build_world(
            couples=args.couples,
            responses=args.responses,
            clinician_couples=args.caseload,
            open_occurrences=400,
            alerts=350,
        )
    )
    _common.analyze()
    print(
        f"built data in {seconds:.1f} s: ", ", ".join(f"{k} {v}" for k, v in world.counts.items())
    )

    clients: dict[str, Any] = {}
    for who, user in (("clinician", world.clinician), ("owner", world.owner)):
        client = Client()
        client.force_login(user)
        clients[who] = client
    base = f"/p/{world.practice.slug}/"
    q = "Rivera"  # a surname on the clinician's caseload (and elsewhere)
    clinician_last = -(-len(world.clinician_couple_ids) // PAGE_SIZE)
    owner_last = -(-len(world.couple_ids) // PAGE_SIZE)
    gc.collect()  # the bulk-load garbage is not part of a web process

    results = []
    for scenario in scenarios(q, clinician_last, owner_last):
        client = clients[scenario.who]
        url = base + (f"?{scenario.query}" if scenario.query else "")
        if "page=" in scenario.query:
            url = nth_page(client, url)
        deadline = time.perf_counter() + args.budget / 4
        for _ in range(args.warmup):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if time.perf_counter() > deadline:
                break
        rows = response.content.count(b"<tr>") - 1  # minus the header row
        total = re.search(rb'<p class="muted">(\d+) couple', response.content)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = list(captured.captured_queries)

        times, sql_times = [], []
        clock = SqlClock()
        deadline = time.perf_counter() + args.budget
        with connection.execute_wrapper(clock):
            for _ in range(args.reps):
                clock.seconds = 0.0
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                sql_times.append(clock.seconds * 1000)
                if started > deadline:
                    break
        summary = _common.Summary.of(times)

        page = count = Explained()
        page_sql = next((x["sql"] for x in queries if classify(x["sql"]) == "page"), None)
        count_sql = next((x["sql"] for x in queries if classify(x["sql"]) == "count"), None)
        if page_sql:
            page = explain(page_sql)
        if count_sql:
            count = explain(count_sql)
        result = {
            "name": scenario.name,
            "matching": int(total.group(1)) if total else -1,
            "rows": rows,
            "n": summary.n,
            "median": summary.median,
            "p95": summary.p95,
            "min": summary.min,
            "max": summary.max,
            "queries": len(queries),
            "sql": statistics.median(sql_times),
            "page": page,
            "count": count,
        }
        results.append(result)
        print(
            f"{scenario.name:38} n={summary.n:3d} median {summary.median:6.1f} ms  "
            f"p95 {summary.p95:6.1f} ms  min {summary.min:5.1f}  max {summary.max:6.1f}  "
            f"({len(queries)} queries, {result['sql']:.1f} ms in SQL; EXPLAIN ANALYZE: couples "
            f"query {page.execution:.1f} ms, JIT {page.jit:.1f}, count {count.execution:.1f})"
        )
        if args.plans:
            print(f"--- couples query ---\n{page.text}\n--- count query ---\n{count.text}\n")
        if args.queries:
            for x in queries:
                print(f"    {float(x['time']) * 1000:6.1f} ms  {x['sql'][:160]}")

    print()
    print(
        "| scenario | couples matching | n | median ms | p95 ms | queries | median ms in SQL |"
        " couples query: EXPLAIN ANALYZE ms (of which JIT) | count query ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['name']} | {r['matching']} | {r['n']} | {r['median']:.1f} | {r['p95']:.1f} | "
            f"{r['queries']} | {r['sql']:.1f} | {r['page'].execution:.1f} ({r['page'].jit:.1f}) | "
            f"{r['count'].execution:.1f} |"
        )
    clinician_p95 = max(r["p95"] for r in results if r["name"].startswith("clinician"))
    verdict = "MET" if clinician_p95 < TARGET_P95_MS else "MISSED"
    print(
        f"\ntarget: p95 < {TARGET_P95_MS:.0f} ms for the {args.caseload}-couple caseload; "
        f"worst clinician p95 {clinician_p95:.1f} ms -> {verdict}"
    )
    owner_p95 = max(r["p95"] for r in results if r["name"].startswith("owner"))
    print(f"owner ({len(world.couple_ids)} couples): worst p95 {owner_p95:.1f} ms (no target)")

    if args.profile:
        profile(clients["clinician"], base)


def profile(client: Any, url: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(50):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


if __name__ == "__main__":
    main()
