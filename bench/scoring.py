"""Scoring benchmark: pure Plan.score throughput, and rescore_all() on PostgreSQL.

    .venv/bin/python bench/scoring.py [--pure 100000] [--stored 50000] [--keep-db] [--profile]

(a) compiles the connection-signs plan once and scores random complete
    responses (no database); target >= 50,000 responses/s.
(b) bulk-loads submitted responses with their Score rows into its own
    database (attune_bench_scoring), then times ``rescore_all()`` as after a
    scoring fix; target < 30 s for 50,000 responses. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import statistics
import time
from typing import Any

import _common

DB_NAME = "attune_bench_scoring"
TARGET_PURE_PER_S = 50_000
TARGET_RESCORE_S = 30.0


def pure(n: int, rounds: int, seed: int = 7) -> list[float]:
    """Responses per second of Plan.score over n simulated complete connection-signs answers.

    Answers come from ``demo.synthetic.simulate``, each for a partner at a random level.
    """
    from assessments.models import Instrument
    from assessments.scoring_rules import Plan
    from demo.synthetic import Person, simulate

    definition = json.loads(
        (_common.ROOT / "assessments/library/connection-signs.json").read_text()
    )
    plan = Plan.compile(definition)
    signs = Instrument(definition=definition)  # unsaved: simulate reads the definition only
    rng = random.Random(seed)
    answers = []
    for _ in range(n):
        level = rng.random()
        answers.append(simulate(signs, Person("", level, level), 0.0, rng))
    assert all(plan.score(a).total.value is not None for a in answers[:100])
    rates = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        for a in answers:
            plan.score(a)
        rates.append(n / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pure", type=int, default=100_000, help="responses for (a)")
    parser.add_argument("--pure-rounds", type=int, default=5)
    parser.add_argument("--stored", type=int, default=50_000, help="responses for (b)")
    parser.add_argument("--rescore-rounds", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one rescore_all()")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="time rescore_all's batch read with and without the instrument definition",
    )
    args = parser.parse_args()

    _common.configure(DB_NAME)
    import django

    django.setup()
    print(f"(a) pure scoring: Plan.compile(connection-signs) once, {args.pure:,} responses")
    rates = pure(args.pure, args.pure_rounds)
    for number, rate in enumerate(rates, start=1):
        print(f"    round {number}: {rate:,.0f} responses/s ({1e6 / rate:.1f} µs each)")
    best, median = max(rates), statistics.median(rates)
    verdict = "MET" if median >= TARGET_PURE_PER_S else "MISSED"
    print(
        f"    median {median:,.0f}/s, best {best:,.0f}/s; "
        f"target >= {TARGET_PURE_PER_S:,}/s -> {verdict}"
    )

    with _common.bench_database(DB_NAME, keep=args.keep_db):
        rescore(args)


def rescore(args: argparse.Namespace) -> None:
    from django.db import connection
    from django_scopes import scopes_disabled

    from assessments.models import Response, Score
    from assessments.services.scoring import rescore_all

    print("environment:")
    _common.print_environment()
    couples = max(100, args.stored // 10)
    seconds, world = _common.timed(
        lambda: _common.build_world(couples=couples, responses=args.stored)
    )
    _common.analyze()
    print(
        f"built data in {seconds:.1f} s (not timed): "
        + ", ".join(f"{k} {v}" for k, v in world.counts.items())
    )
    with scopes_disabled():
        n_responses = Response.objects.filter(state="submitted").count()
        n_scores = Score.objects.count()
    print(f"(b) rescore_all() over {n_responses:,} submitted responses ({n_scores:,} Score rows)")
    results = []
    for number in range(1, args.rescore_rounds + 1):
        gc.collect()
        spent: dict[str, list[float]] = {}
        clock = SqlClock(spent)
        with connection.execute_wrapper(clock):
            seconds, done = _common.timed(rescore_all)
        statements = sum(len(v) for v in spent.values())
        sql_seconds = sum(sum(v) for v in spent.values())
        assert done == n_responses, (done, n_responses)
        results.append(seconds)
        print(
            f"    round {number}: {seconds:.2f} s, {done / seconds:,.0f} responses/s, "
            f"{n_scores / seconds:,.0f} score rows/s, {statements} SQL statements"
        )
        print(
            f"      in SQL execute (psycopg + server): {sql_seconds:.2f} s; "
            f"Python around it (ORM row building, scoring, insert preparation): "
            f"{seconds - sql_seconds:.2f} s"
        )
        for kind, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
            print(f"        {sum(times):6.2f} s  {len(times):4d} x  {kind}")
    with scopes_disabled():
        assert Score.objects.count() == n_scores
    worst = max(results)
    verdict = "MET" if worst < TARGET_RESCORE_S else "MISSED"
    print(f"    worst {worst:.2f} s; target < {TARGET_RESCORE_S:.0f} s -> {verdict}")
    if args.diagnose:
        diagnose()
    if args.profile:
        profile(rescore_all)


def diagnose(batch_size: int = 2000) -> None:
    """How much of rescore_all is reading rows, and how much of that is the definition JSON.

    rescore_all() reads each batch with select_related("instrument"), so every
    response row carries (and json-decodes) its instrument's whole definition.
    """
    from django.db import connection
    from django_scopes import scopes_disabled

    from assessments.models import Response, ResponseState

    def read(defer: bool) -> float:
        gc.collect()
        started = time.perf_counter()
        with scopes_disabled():
            last_pk = 0
            while True:
                qs = Response.objects.filter(state=ResponseState.SUBMITTED, pk__gt=last_pk)
                qs = qs.select_related("instrument").order_by("pk")
                if defer:
                    qs = qs.defer("instrument__definition")
                batch = list(qs[:batch_size])
                if not batch:
                    break
                last_pk = batch[-1].pk
        return time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg(length(definition::text)) FROM assessments_instrument "
            "WHERE practice_id IS NULL"
        )
        size = cursor.fetchone()[0]
    print(f"diagnosis (built-in definitions average {size:,.0f} characters of JSON):")
    for defer in (False, True, False, True):
        label = "defer(instrument__definition)" if defer else "as rescore_all (select_related)"
        print(f"    read all batches, {label:32}: {read(defer):.2f} s")


class SqlClock:
    """An execute wrapper adding up time spent in cursor.execute per kind of statement."""

    def __init__(self, spent: dict[str, list[float]]) -> None:
        self.spent = spent

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = " ".join(sql.split()[:3])[:40]
            self.spent.setdefault(kind, []).append(time.perf_counter() - started)


def profile(fn: Any) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    for key, limit in (("cumulative", 35), ("tottime", 20)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(limit)
        print(out.getvalue())


if __name__ == "__main__":
    main()
