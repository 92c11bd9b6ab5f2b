"""Whole-practice export benchmark: 300 couples and 7,000 responses on PostgreSQL.

    .venv/bin/python bench/export.py [--couples 300] [--responses 7000] [--reports 300]
                                     [--rounds 2] [--breakdown] [--keep-db]

Builds one practice with bench/_common.build_world (scores included), estimates
norms so every multi-item scale gets reliable change (the CSV's costly path),
gives it ``--reports`` ready PDF reports (one real WeasyPrint render, stored
that many times), then times ``reports.exports.build()`` as the worker runs it:
the zip streamed into private storage. Prints the wall time, queries, zip
size, the process's peak RSS, and with ``--breakdown`` the time each kind of
member takes on its own (read and serialised, not zipped). See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import zipfile
from collections import defaultdict

import _common

DB_NAME = "attune_bench_export"


def add_reports(world: _common.World, count: int) -> int:
    """``count`` ready reports: one real render, its bytes stored once per report."""
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from django_scopes import scope

    from clients.models import Couple
    from reports import services
    from reports.models import Report

    with scope(practice=world.practice):
        couples = list(Couple.objects.filter(pk__in=world.couple_ids).order_by("pk")[:count])
        today = timezone.localdate()
        first = Report.objects.create(
            practice=world.practice,
            couple=couples[0],
            kind="clinician",
            period_start=today.replace(day=1),
            period_end=today,
        )
        services.generate(first.pk)
        first.refresh_from_db()
        pdf = first.file.read()
        for couple in couples[1:]:
            report = Report.objects.create(
                practice=world.practice,
                couple=couple,
                kind="clinician",
                period_start=first.period_start,
                period_end=today,
                status="ready",
            )
            report.file.save(f"{world.practice.uuid}/{report.uuid}.pdf", ContentFile(pdf))
    return len(pdf)


def run_once(world: _common.World) -> dict[str, float]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope

    from reports import exports
    from reports.models import PracticeExport

    with scope(practice=world.practice):
        export = PracticeExport.objects.create(practice=world.practice, created_by=world.owner)
        gc.collect()
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            exports.build(export.pk)
            seconds = time.perf_counter() - started
        export.refresh_from_db()
        assert export.status == "done", export.error
        with export.file.open("rb") as handle:
            members = len(zipfile.ZipFile(handle).namelist())
        export.file.delete(save=False)
    return {
        "seconds": seconds,
        "queries": len(queries),
        "bytes": export.size or 0,
        "members": members,
    }


def breakdown(world: _common.World) -> None:
    from django_scopes import scope

    from reports import exports

    spent: dict[str, float] = defaultdict(float)
    sizes: dict[str, int] = defaultdict(int)
    with scope(practice=world.practice):
        for member in exports._members(world.practice):
            kind = member.name.split("/")[0]
            started = time.perf_counter()
            for chunk in member.chunks():
                sizes[kind] += len(chunk)
            spent[kind] += time.perf_counter() - started
    print("  parts on their own (read and serialised, not compressed):")
    for kind in sorted(spent, key=spent.get, reverse=True):
        print(f"    {kind:14} {spent[kind]:6.2f} s  {sizes[kind] / 1e6:8.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--couples", type=int, default=300)
    parser.add_argument("--responses", type=int, default=7000)
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    _common.configure(DB_NAME)
    with _common.bench_database(DB_NAME, keep=args.keep_db):
        from django.conf import settings

        from assessments.services import change

        settings.DEBUG = True  # count queries
        started = time.perf_counter()
        world = _common.build_world(couples=args.couples, responses=args.responses)
        change.estimate_norms()
        pdf_size = add_reports(world, args.reports)
        _common.analyze()
        print(f"built in {time.perf_counter() - started:.1f} s: {world.counts}")
        print(f"  {args.reports} ready reports of {pdf_size / 1e3:.0f} kB each")
        _common.print_facts(_common.run_facts())
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results = [run_once(world) for _ in range(args.rounds)]
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for number, result in enumerate(results, start=1):
            print(
                f"  round {number}: exports.build() {result['seconds']:.1f} s, "
                f"{result['queries']:,} queries, zip {result['bytes'] / 1e6:.1f} MB, "
                f"{result['members']:,} files"
            )
        print(
            f"  peak RSS of this process: {rss_before / 1024:.0f} MB before, "
            f"{rss_after / 1024:.0f} MB after the exports"
        )
        if args.breakdown:
            breakdown(world)
        _common.print_end_state()


if __name__ == "__main__":
    main()
