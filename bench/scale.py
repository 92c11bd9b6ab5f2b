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
    gc.collect()
    started = time.perf_counter()
    result = fn()
    report.append((name, time.perf_counter() - started, rss_mb(), result))
    print(f"  {name:34} {report[-1][1]:8.1f} s   peak RSS {report[-1][2]:7.0f} MB   -> {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=1.0, help="fraction of the full scale")
    parser.add_argument("--reps", type=int, default=40, help="timed requests per page")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    _common.configure(DB_NAME)
    with _common.bench_database(DB_NAME, keep=args.keep_db):
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import hashers
    from django.test.utils import override_settings
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from assessments import summary
    from assessments.services import alerts, assignments, change, scoring
    from reports import exports
    from reports import services as report_services

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
            )
            if number % 50 == 49:
                print(f"  {number + 1} filler practices, {time.perf_counter() - started:.0f} s")
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
    print(f"filled in {time.perf_counter() - started:.1f} s: {counts}")
    after = measure(worlds, args.reps)

    print(f"\n== Pages and API ({args.reps} requests each; ms) ==")
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

    print("\n== Jobs over every practice (wall time, this process's peak RSS) ==")
    today = timezone.localdate()
    report: list[tuple[str, float, float, Any]] = []
    job("caseload summary rebuild", summary.rebuild, report)
    job("norm estimation", change.estimate_norms, report)
    job("open due forms", lambda: assignments.create_due_occurrences(today), report)
    job("reminders", lambda: assignments.send_reminders(today), report)
    job("overdue alerts", lambda: alerts.raise_overdue_alerts(today), report)
    job("sweep: unscored", lambda: len(scoring.unscored_ids()), report)
    job("sweep: stale reports", report_services.requeue_stale, report)
    job("sweep: exports", lambda: exports.sweep(timezone.now() + timedelta(days=1)), report)
    job("rescore_all", scoring.rescore_all, report)
    _common.print_end_state()


if __name__ == "__main__":
    sys.exit(main())
