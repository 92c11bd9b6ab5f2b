"""Benchmark: the caseload, the couple list API and the nightly jobs at 1,000 practices.

Run from the project root (it creates and drops its own database):

    .venv/bin/python bench/scale.py              # 1,000 practices, 100,000 couples, 2M responses
    .venv/bin/python bench/scale.py --size 0.05  # 5 % of that, for a quick run

What it does (figures and targets in bench/README.md, "Scale"):

1. Builds the practices that are measured: one of 2,000 couples whose clinician has
   300 of them, and one of 300 couples, all the clinician's. Measures the caseload
   page and the couple list API for the clinician of the small practice, and the
   owner's first and last page in the large one: the baseline.
2. Fills the database with the other practices (100 couples and 2,000 submitted
   responses each, bulk inserts through ``bench/_common.build_world``) up to the
   size asked for, and measures the same pages again. The targets compare the two.
3. Times, with the process's peak memory after each: the caseload summary rebuild
   of every couple, the nightly jobs (norm estimation, opening due forms,
   reminders, overdue alerts, the sweepers) and ``rescore_all``.

Requests go through Django's test client in this process (no HTTP server), so the
figures are the application's own cost; bench/api.py measures the API under
gunicorn.
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import os
import re
import resource
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import _common

_common.hide_bench_folder()

DB_NAME = f"attune_bench_scale_{os.getpid()}"
FULL = {"practices": 1000, "couples": 100_000, "responses": 2_000_000}
MEASURED_COUPLES = 2000 + 300
FILLER_COUPLES = 100


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timings(fetch: Callable[[], Any], reps: int) -> _common.Summary:
    fetch()  # warm
    values = []
    for _ in range(reps):
        started = time.perf_counter()
        fetch()
        values.append((time.perf_counter() - started) * 1000)
    return _common.Summary.of(values)


NEXT_LINK = re.compile(r'href="\?([^"]*)" rel="next"')


def page_urls(client: Any, base: str) -> tuple[str, str]:
    """The caseload's first page and its last, reached by following the Next links."""
    url, last = base, base
    while True:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        found = NEXT_LINK.search(response.content.decode())
        if not found:
            return base, last
        url = base.split("?")[0] + "?" + html.unescape(found.group(1))
        last = url


def api_urls(client: Any, base: str) -> tuple[str, str]:
    url, last = base, base
    while True:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        following = json.loads(response.content)["next"]
        if not following:
            return base, last
        url = last = following.removeprefix("http://testserver")


def measure(worlds: dict[str, Any], reps: int) -> dict[str, _common.Summary]:
    from django.test import Client
    from django_scopes import scope

    from practice import tokens

    results: dict[str, _common.Summary] = {}
    small, large = worlds["small"], worlds["large"]
    for who, world, user, sort in (
        ("300-couple practice, clinician", small, small.clinician, "label"),
        ("2,000-couple practice, its 300-couple clinician", large, large.clinician, "label"),
        ("2,000-couple practice, owner", large, large.owner, "label"),
    ):
        client = Client()
        client.force_login(user)
        first, last = page_urls(client, f"/p/{world.practice.slug}/?sort={sort}")
        results[f"page {who}, first"] = timings(lambda c=client, u=first: c.get(u), reps)
        if "owner" in who:
            results[f"page {who}, last"] = timings(lambda c=client, u=last: c.get(u), reps)
        with scope(practice=world.practice):
            _token, secret = tokens.create(practice=world.practice, user=user, name="bench")
        api = Client(HTTP_AUTHORIZATION=f"Token {secret}")
        base = f"/api/v1/p/{world.practice.slug}/couples/?limit=50"
        first, last = api_urls(api, base)
        results[f"API {who}, first"] = timings(lambda c=api, u=first: c.get(u), reps)
        if "owner" in who:
            results[f"API {who}, last"] = timings(lambda c=api, u=last: c.get(u), reps)
    return results


def job(name: str, fn: Callable[[], Any], report: list[tuple[str, float, float, Any]]) -> None:
    """Run ``fn`` in a forked child, so that its peak RSS is the job's own.

    The child inherits the loaded Django (not a connection: they are closed
    first), runs the job, sends its result back as text through a pipe; the
    parent reads the child's ``ru_maxrss`` from ``wait4``.
    """
    from django.db import connections

    connections.close_all()
    gc.collect()
    reading, writing = os.pipe()
    started = time.perf_counter()
    child = os.fork()
    if child == 0:  # the job's process
        os.close(reading)
        try:
            text = repr(fn())
        except BaseException as error:  # reported by the parent
            text = f"FAILED: {error!r}"
        connections.close_all()
        with os.fdopen(writing, "w") as out:
            out.write(text)
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as got:
        result = got.read()
    _pid, _status, usage = os.wait4(child, 0)
    report.append((name, time.perf_counter() - started, usage.ru_maxrss / 1024, result))
    print(
        f"  {name:34} {report[-1][1]:8.1f} s   peak RSS {report[-1][2]:7.0f} MB   -> {result}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=1.0, help="fraction of the full scale")
    parser.add_argument("--reps", type=int, default=40, help="timed requests per page")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--db", default=DB_NAME, help="name of the database to create")
    parser.add_argument(
        "--template",
        help="copy this database (kept by an earlier --keep-db run) instead of building: "
        "the pages at scale and the jobs are measured on the copy",
    )
    parser.add_argument(
        "--existing",
        action="store_true",
        help="measure on --db as it is (kept by an earlier run), without copying or dropping it; "
        "the jobs change it",
    )
    parser.add_argument("--no-jobs", action="store_true", help="stop after the pages")
    parser.add_argument("--only", help="comma-separated job names to run (default all)")
    args = parser.parse_args()
    _common.configure(args.db)
    if args.existing:
        import django

        django.setup()
        run_jobs_on_copy(args)
        print(f"loadavg at the end: {_common.loadavg()}; database {args.db} left in place")
    elif args.template:
        with _common.copied_database(args.db, args.template, keep=args.keep_db):
            run_jobs_on_copy(args)
    else:
        with _common.bench_database(args.db, keep=args.keep_db):
            run(args)


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import hashers
    from django.test.utils import override_settings
    from django_scopes import scopes_disabled

    _common.BULK_COPY = True
    print("environment:")
    _common.print_environment()
    couples_wanted = max(MEASURED_COUPLES, round(FULL["couples"] * args.size))
    fillers = max(0, (couples_wanted - MEASURED_COUPLES) // FILLER_COUPLES)
    per_couple = FULL["responses"] // FULL["couples"]
    print(
        f"size {args.size}: 2 measured practices + {fillers} of {FILLER_COUPLES} couples "
        f"({MEASURED_COUPLES + fillers * FILLER_COUPLES} couples, "
        f"about {(MEASURED_COUPLES + fillers * FILLER_COUPLES) * per_couple} responses)"
    )
    # Staff passwords are hashed once per user: argon2 would take longer than the data.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        hashers.get_hashers.cache_clear()
        started = time.perf_counter()
        worlds = {
            "large": _common.build_world(
                couples=2000,
                responses=2000 * per_couple,
                clinician_couples=300,
                open_occurrences=400,
                alerts=350,
                tag="-large",
            ),
            "small": _common.build_world(
                couples=300,
                responses=300 * per_couple,
                clinician_couples=300,
                open_occurrences=60,
                alerts=50,
                tag="-small",
                seed=7,
            ),
        }
        _common.analyze()
        print(f"measured practices built in {time.perf_counter() - started:.1f} s")
        before = measure(worlds, args.reps)

        started = time.perf_counter()
        for number in range(fillers):
            _common.build_world(
                couples=FILLER_COUPLES,
                responses=FILLER_COUPLES * per_couple,
                clinician_couples=30,
                open_occurrences=20,
                alerts=15,
                tag=f"-{number:04d}",
                seed=1000 + number,
                summaries=False,  # the summary rebuild below writes them, timed
            )
            if number % 50 == 49:
                elapsed = time.perf_counter() - started
                print(
                    f"  {number + 1} filler practices, {elapsed:.0f} s "
                    f"({(number + 1) * FILLER_COUPLES * per_couple / elapsed:.0f} responses/s), "
                    f"loadavg {_common.loadavg()}",
                    flush=True,
                )
        _common.analyze()
    hashers.get_hashers.cache_clear()
    with scopes_disabled():
        from assessments.models import Response
        from clients.models import Couple
        from practice.models import Practice

        counts = {
            "practices": Practice.objects.count(),
            "couples": Couple.objects.count(),
            "responses": Response.objects.count(),
        }
    print(f"filled in {time.perf_counter() - started:.1f} s: {counts}", flush=True)
    # The filler practices' caseload rows, before the pages at scale are measured.
    job_report: list[tuple[str, float, float, Any]] = []
    job("caseload summary rebuild (load)", rebuild_summaries, job_report)
    after = measure(worlds, args.reps)
    print_pages(before, after, args.reps)
    if not args.no_jobs:
        run_jobs(args)
    _common.print_end_state()


def rebuild_summaries() -> int:
    from assessments import summary

    return summary.rebuild()


def find_worlds() -> dict[str, Any]:
    """The two measured practices of a copied database, as build_world returned them."""
    from django_scopes import scopes_disabled

    from practice.models import Practice, User

    worlds = {}
    with scopes_disabled():
        for tag in ("large", "small"):
            worlds[tag] = _common.World(
                practice=Practice.objects.get(slug=f"bench-{tag}"),
                owner=User.objects.get(email=f"owner-{tag}@bench.test"),
                clinician=User.objects.get(email=f"clinician-{tag}@bench.test"),
                clinician_couple_ids=[],
                couple_ids=[],
            )
    return worlds


def run_jobs_on_copy(args: argparse.Namespace) -> None:
    from django_scopes import scopes_disabled

    from assessments.models import Response
    from clients.models import Couple
    from practice.models import Practice

    print("environment:")
    _common.print_environment()
    with scopes_disabled():
        print(
            f"{args.template or args.db}: {Practice.objects.count()} practices, "
            f"{Couple.objects.count()} couples, {Response.objects.count()} responses",
            flush=True,
        )
    if args.reps:
        after = measure(find_worlds(), args.reps)
        print_pages(None, after, args.reps)
    if not args.no_jobs:
        run_jobs(args)
    _common.print_end_state()


def print_pages(
    before: dict[str, _common.Summary] | None, after: dict[str, _common.Summary], reps: int
) -> None:
    print(f"\n== Pages and API ({reps} requests each; ms) ==", flush=True)
    if before is None:
        for name, at_scale in after.items():
            print(f"  {name:64} p50 {at_scale.median:8.1f}  p95 {at_scale.p95:8.1f}")
        return
    print(f"  {'':64} {'p50 before':>10} {'p95 before':>10} {'p50 at scale':>12} {'p95':>8}")
    for name, summary_before in before.items():
        at_scale = after[name]
        print(
            f"  {name:64} {summary_before.median:10.1f} {summary_before.p95:10.1f} "
            f"{at_scale.median:12.1f} {at_scale.p95:8.1f}"
        )
    small_page = before["page 300-couple practice, clinician, first"].p95
    small_api = before["API 300-couple practice, clinician, first"].p95
    ratios = {
        "page p95, clinician at scale / 300-couple practice (<= 1.5)": after[
            "page 2,000-couple practice, its 300-couple clinician, first"
        ].p95
        / small_page,
        "API p95, clinician at scale / 300-couple practice (<= 1.5)": after[
            "API 2,000-couple practice, its 300-couple clinician, first"
        ].p95
        / small_api,
        "page p95, owner last / first page at scale (<= 1.2)": after[
            "page 2,000-couple practice, owner, last"
        ].p95
        / after["page 2,000-couple practice, owner, first"].p95,
        "API p95, owner last / first page at scale (<= 1.2)": after[
            "API 2,000-couple practice, owner, last"
        ].p95
        / after["API 2,000-couple practice, owner, first"].p95,
    }
    for name, value in ratios.items():
        print(f"  {name:64} {value:6.2f}")


def run_jobs(args: argparse.Namespace) -> None:
    from django.utils import timezone

    from assessments import summary
    from assessments.services import alerts, assignments, change, scoring
    from reports import exports
    from reports import services as report_services

    print(
        f"\n== Jobs over every practice (wall time, the job process's peak RSS); "
        f"loadavg {_common.loadavg()} ==",
        flush=True,
    )
    today = timezone.localdate()
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("caseload summary rebuild", summary.rebuild),
        ("norm estimation", change.estimate_norms),
        ("open due forms", lambda: assignments.create_due_occurrences(today)),
        ("reminders", lambda: assignments.send_reminders(today)),
        ("overdue alerts", lambda: alerts.raise_overdue_alerts(today)),
        ("sweep: unscored", lambda: len(scoring.unscored_ids())),
        ("sweep: stale reports", report_services.requeue_stale),
        ("sweep: exports", lambda: exports.sweep(timezone.now() + timedelta(days=1))),
        ("rescore_all", scoring.rescore_all),
    ]
    wanted = set(args.only.split(",")) if args.only else None
    report: list[tuple[str, float, float, Any]] = []
    for name, fn in jobs:
        if wanted is None or name in wanted:
            job(name, fn, report)
    print(f"loadavg after the jobs: {_common.loadavg()}")


if __name__ == "__main__":
    sys.exit(main())
