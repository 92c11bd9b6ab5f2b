"""Fault study: the production layout, broken on purpose, and what was lost.

    .venv/bin/python bench/faults.py [--partners 20] [--reports 3] [--keep-db]

Starts, all on free ports on 127.0.0.1 and as children of this script: a Redis
server of its own (broker on db 0, CACHE_URL on db 1, as docker-compose), gunicorn
(2 workers) on practice.wsgi, a `default` worker and a `reports` worker (2
processes each) and beat with the production schedule. Then, one after the
other: Redis stopped while partners autosave and submit over HTTP; the default
worker SIGKILLed with scoring in flight; the reports worker SIGKILLed mid-render;
the reports worker restarted under a 16 KiB file-size limit (the report store
refuses the PDF, EFBIG) and the reports retried once it is lifted; one stored
answer set corrupted before scoring. Prints one table: scenario | attempted |
persisted | scored | lost | duplicated | recovery time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common

_common.hide_bench_folder()

DB_NAME = "attune_bench_faults"
TMP = Path(tempfile.mkdtemp(prefix="attune-bench-faults-"))
PREFIX = f"bench-faults-{os.getpid()}-"
SIGNS = [f"cs{i:02d}" for i in range(1, 13)]
DEADLINE_S = 300  # per recovery: a scenario that has not recovered by then is reported so


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Processes:
    """The stack's child processes, each in its own session so it can be killed whole."""

    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        command: list[str],
        ready: Callable[[], bool],
        *,
        file_size_limit: int | None = None,
    ) -> subprocess.Popen[bytes]:
        log = (TMP / f"{name}.log").open("ab")

        def limit() -> None:
            if file_size_limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

        process = subprocess.Popen(
            command,
            cwd=_common.ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=limit,  # only setrlimit, between fork and exec
        )
        self.running[name] = process
        if not _common.wait_until(ready, process, 90, 0.1):
            raise SystemExit(f"{name} did not start; see {TMP / (name + '.log')}")
        return process

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything in its session (pool children)."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, name: str) -> None:
        _common.stop_process(self.running.pop(name))

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def log_has(name: str, text: str, start: int = 0) -> Callable[[], bool]:
    path = TMP / f"{name}.log"
    return lambda: path.exists() and text.encode() in path.read_bytes()[start:]


def log_size(name: str) -> int:
    path = TMP / f"{name}.log"
    return path.stat().st_size if path.exists() else 0


# --- HTTP, as a browser would ---------------------------------------------------------


class Browser:
    """One partner's cookie jar; counts every API answer by status."""

    def __init__(self, base: str, statuses: list[int]) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.statuses = statuses

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str) -> int:
        # Only ever our own gunicorn on 127.0.0.1.
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with self.opener.open(req, timeout=20) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def page(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=20) as answer:
            return answer.read().decode()

    def enter(self, token: str) -> None:
        html = self.page(f"/portal/enter/{token}/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
        body = f"csrfmiddlewaretoken={csrf}".encode()
        self.request(
            "POST",
            f"/portal/enter/{token}/",
            body,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )

    def autosave(self, occurrence: str, answers: dict[str, int]) -> int:
        status = self.request(
            "PATCH",
            f"/api/v1/portal/forms/{occurrence}/answers/",
            json.dumps({"answers": answers}).encode(),
            **{"Content-Type": "application/json", "X-CSRFToken": self.csrf()},
        )
        self.statuses.append(status)
        return status

    def submit(self, occurrence: str) -> int:
        body = f"csrfmiddlewaretoken={self.csrf()}".encode()
        return self.request(
            "POST",
            f"/portal/forms/{occurrence}/review/",
            body,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )


# --- Data ---------------------------------------------------------------------------


def make_partners(count: int) -> list[tuple[Any, str, Any]]:
    """(partner, invitation token, open Connection Signs form) for count // 2 couples."""
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scope

    from assessments.models import Instrument
    from assessments.services import assignments
    from clients import services as client_services
    from clients.models import AccessLinkPurpose, PortalState
    from practice.models import Membership, Practice, Role, User

    practice = Practice.objects.create(name="Fault Practice", slug="faults", timezone="UTC")
    clinician = User.objects.create_user("clinician@faults.test", "faults-password-2026")
    Membership.objects.create(practice=practice, user=clinician, role=Role.CLINICIAN)
    made = []
    with scope(practice=practice):
        signs = Instrument.objects.get(practice__isnull=True, key="connection-signs")
        for n in range(count // 2):
            couple = client_services.create_couple(
                practice=practice,
                actor=clinician,
                label=f"Fault {n:03d}",
                clinicians=[clinician],
                partners=[
                    client_services.PartnerDetails(f"One {n}", f"one{n}@faults.test"),
                    client_services.PartnerDetails(f"Two {n}", f"two{n}@faults.test"),
                ],
            )
            assignments.assign(
                couple=couple,
                instrument=signs,
                actor=clinician,
                first_due=timezone.localdate() + timedelta(days=3),
            )
            occurrence = couple.occurrences.get()
            for partner in couple.partners.order_by("position"):
                partner.portal_state = PortalState.INVITED
                partner.save()
                _, token = client_services.new_access_link(
                    partner, AccessLinkPurpose.INVITATION, client_services.invitation_lifetime()
                )
                made.append((partner, token, occurrence))
    return made


def answers_for(index: int) -> dict[str, int]:
    return {key: (index + i) % 5 + 1 for i, key in enumerate(SIGNS)}


@dataclass
class Row:
    scenario: str
    attempted: int
    persisted: int
    scored: int
    lost: int
    duplicated: int
    recovery: str
    note: str = ""


def wait(condition: Callable[[], bool], limit: float = DEADLINE_S) -> float | None:
    """Seconds until the condition held, or None if it never did within ``limit``."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def seconds(value: float | None) -> str:
    return f"never (> {DEADLINE_S} s)" if value is None else f"{value:.1f} s"


def response_counts(
    occurrences: list[Any], given: dict[int, dict[str, int]]
) -> tuple[int, int, int, int]:
    """(persisted with every answer, scored, lost, duplicated) for these partners' forms."""
    from django.db.models import Count
    from django_scopes import scopes_disabled

    from assessments.models import Response, ResponseState, Score

    with scopes_disabled():
        rows = list(
            Response.objects.filter(occurrence__in=occurrences, partner_id__in=given).values(
                "pk", "partner_id", "answers", "state", "scored_at"
            )
        )
        per_response = dict(
            Score.objects.filter(response_id__in=[r["pk"] for r in rows])
            .values("response_id", "scale")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list("response_id", "n")
        )
    persisted = sum(
        1
        for r in rows
        if r["state"] == ResponseState.SUBMITTED and r["answers"] == given[r["partner_id"]]
    )
    partners_seen = [r["partner_id"] for r in rows]
    duplicated = len(partners_seen) - len(set(partners_seen)) + len(per_response)
    scored = sum(1 for r in rows if r["scored_at"] is not None)
    return persisted, scored, len(given) - persisted, duplicated


# --- Scenarios ----------------------------------------------------------------------


def redis_outage(stack: Stack, partners: list[tuple[Any, str, Any]]) -> list[Row]:
    """Half the answers saved, Redis stopped, the rest saved and every form submitted."""
    statuses: list[int] = []
    browsers = []
    given = {}
    for index, (partner, token, occurrence) in enumerate(partners):
        browser = Browser(stack.base, statuses)
        browser.enter(token)
        browsers.append((browser, partner, occurrence))
        given[partner.pk] = answers_for(index)
    for browser, partner, occurrence in browsers:
        for key in SIGNS[:6]:
            browser.autosave(str(occurrence.uuid), {key: given[partner.pk][key]})
    before = len(statuses)
    stack.stop_redis()
    outage_started = time.monotonic()
    submits = []
    for browser, partner, occurrence in browsers:
        for key in SIGNS[6:]:
            browser.autosave(str(occurrence.uuid), {key: given[partner.pk][key]})
        submits.append(browser.submit(str(occurrence.uuid)))
    during = statuses[before:]
    health = Browser(stack.base, []).request("GET", "/healthz")
    outage = time.monotonic() - outage_started
    stack.start_redis()
    occurrences = list({o.pk: o for _, _, o in partners}.values())
    recovered = wait(lambda: response_counts(occurrences, given)[1] == len(given))
    persisted, scored, lost, duplicated = response_counts(occurrences, given)
    available = sum(1 for s in during if 200 <= s < 300) / max(1, len(during))
    return [
        Row(
            "Redis down: autosave + submit",
            len(given),
            persisted,
            scored,
            lost,
            duplicated,
            seconds(recovered),
            f"{outage:.1f} s outage; submit answers {sorted(set(submits))}; /healthz {health}",
        ),
        Row(
            "Redis down: API availability",
            len(during),
            sum(1 for s in during if 200 <= s < 300),
            0,
            0,
            0,
            "-",
            f"{available:.1%} of autosave calls answered 2xx during the outage",
        ),
    ]


def worker_killed_mid_score(stack: Stack, partners: list[tuple[Any, str, Any]]) -> Row:
    """Everyone submits at once; the default worker is SIGKILLed while it scores."""
    statuses: list[int] = []
    given = {}
    sent = []
    for index, (partner, token, occurrence) in enumerate(partners):
        browser = Browser(stack.base, statuses)
        browser.enter(token)
        given[partner.pk] = answers_for(index + 7)
        browser.autosave(str(occurrence.uuid), given[partner.pk])
        sent.append((browser, occurrence))
    mark = log_size("default")
    for browser, occurrence in sent:
        browser.submit(str(occurrence.uuid))
    wait(log_has("default", "score_response", mark), 30)
    stack.processes.kill("default")
    time.sleep(2)  # the worker is down a moment, as a restarted container would be
    stack.start_default()
    occurrences = list({o.pk: o for _, _, o in partners}.values())
    recovered = wait(lambda: response_counts(occurrences, given)[1] == len(given))
    persisted, scored, lost, duplicated = response_counts(occurrences, given)
    return Row(
        "worker SIGKILL mid-score",
        len(given),
        persisted,
        scored,
        lost,
        duplicated,
        seconds(recovered),
        "time from the worker's restart to every submission scored",
    )


def report_rows(reports: list[Any]) -> tuple[int, int, int]:
    """(ready with a valid PDF, failed, duplicated files) for these reports."""
    from django_scopes import scopes_disabled

    from reports.models import Report, ReportStatus

    with scopes_disabled():
        rows = list(Report.objects.filter(pk__in=[r.pk for r in reports]))
    ready = 0
    for report in rows:
        if report.status != ReportStatus.READY:
            continue
        path = Path(os.environ["PRIVATE_MEDIA_ROOT"]) / report.file.name
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=False)
        ready += info.returncode == 0 and "Pages:" in info.stdout
    files = [p for p in Path(os.environ["PRIVATE_MEDIA_ROOT"]).rglob("*") if p.is_file()]
    names = {f"{r.uuid}.pdf" for r in rows}
    ours = [p for p in files if p.name in names or any(n[:-4] in p.name for n in names)]
    failed = sum(1 for r in rows if r.status == ReportStatus.FAILED)
    return ready, failed, len(ours) - ready


def request_reports(couples: list[Any], count: int) -> list[Any]:
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scope

    from reports import services
    from reports.models import ReportKind

    made = []
    for couple in couples[:count]:
        with scope(practice=couple.practice):
            made.append(
                services.request_report(
                    couple=couple,
                    kind=ReportKind.CLINICIAN,
                    period_start=timezone.localdate() - timedelta(days=60),
                    period_end=timezone.localdate(),
                    actor=None,
                )
            )
    return made


def worker_killed_mid_render(stack: Stack, couples: list[Any], count: int) -> Row:
    from django_scopes import scopes_disabled

    from reports.models import Report, ReportStatus

    reports = request_reports(couples, count)
    ids = [r.pk for r in reports]
    # Killed once both worker processes are drawing a report (mid-render, as in the issue).
    busy = min(2, count)
    with scopes_disabled():
        wait(
            lambda: (
                Report.objects.filter(pk__in=ids, status=ReportStatus.RENDERING).count() >= busy
            ),
            60,
        )
    stack.processes.kill("reports")
    time.sleep(2)
    stack.start_reports()
    with scopes_disabled():
        recovered = wait(
            lambda: Report.objects.filter(pk__in=ids, status=ReportStatus.READY).count() == count
        )
        attempts = sorted(Report.objects.filter(pk__in=ids).values_list("attempts", flat=True))
    ready, failed, duplicated = report_rows(reports)
    return Row(
        "worker SIGKILL mid-render",
        count,
        count,
        ready,
        count - ready - failed,
        duplicated,
        seconds(recovered),
        f"attempts {attempts}; time from the worker's restart to every report ready",
    )


def storage_refused(stack: Stack, couples: list[Any], count: int) -> Row:
    from django_scopes import scope, scopes_disabled

    from practice.models import User
    from reports import services
    from reports.models import Report, ReportStatus

    stack.processes.stop("reports")
    # Its own log file, which stays far below the limit.
    stack.start_reports(file_size_limit=16 * 1024, name="reports-limited")
    reports = request_reports(couples, count)
    ids = [r.pk for r in reports]
    with scopes_disabled():
        wait(lambda: Report.objects.filter(pk__in=ids, status=ReportStatus.FAILED).count() == count)
        codes = sorted(set(Report.objects.filter(pk__in=ids).values_list("error", flat=True)))
    leftovers = report_rows(reports)[2]
    stack.processes.stop("reports-limited")
    stack.start_reports()
    clinician = User.objects.get(email="clinician@faults.test")
    started = time.monotonic()
    for report in reports:
        with scope(practice=report.practice):
            services.retry(report, actor=clinician)
    with scopes_disabled():
        wait(lambda: Report.objects.filter(pk__in=ids, status=ReportStatus.READY).count() == count)
    recovered = time.monotonic() - started
    ready, failed, duplicated = report_rows(reports)
    return Row(
        "report store refuses the PDF",
        count,
        count,
        ready,
        count - ready - failed,
        duplicated + leftovers,
        seconds(recovered),
        f"first try failed with {codes}; time from Try again to ready",
    )


def corrupt_answer_set(stack: Stack, partners: list[tuple[Any, str, Any]]) -> Row:
    from django_scopes import scopes_disabled

    from assessments.models import Alert, AlertKind, Response

    stack.processes.stop("default")
    statuses: list[int] = []
    given = {}
    for index, (partner, token, occurrence) in enumerate(partners):
        browser = Browser(stack.base, statuses)
        browser.enter(token)
        given[partner.pk] = answers_for(index + 3)
        browser.autosave(str(occurrence.uuid), given[partner.pk])
        browser.submit(str(occurrence.uuid))
    poisoned_partner = partners[0][0]
    with scopes_disabled():
        poisoned = Response.objects.get(partner=poisoned_partner, occurrence=partners[0][2])
        Response.objects.filter(pk=poisoned.pk).update(answers={**poisoned.answers, "cs01": "?"})
    stack.start_default()
    occurrences = list({o.pk: o for _, _, o in partners}.values())
    healthy = {k: v for k, v in given.items() if k != poisoned_partner.pk}
    recovered = wait(lambda: response_counts(occurrences, healthy)[1] == len(healthy))
    with scopes_disabled():
        wait(lambda: Response.objects.get(pk=poisoned.pk).scoring_attempts >= 1, 30)
        flagged = Response.objects.get(pk=poisoned.pk)
        alerts = Alert.objects.filter(kind=AlertKind.SCORING, response=flagged).count()
    persisted, scored, lost, duplicated = response_counts(occurrences, healthy)
    return Row(
        "one corrupt answer set",
        len(given),
        persisted + 1,
        scored,
        lost,
        duplicated,
        seconds(recovered),
        f"the corrupt one: error={flagged.scoring_error!r}, attempts {flagged.scoring_attempts}, "
        f"{alerts} 'could not score' alert; the other {len(healthy)} scored",
    )


# --- The stack ----------------------------------------------------------------------


class Stack:
    def __init__(self, redis_port: int, web_port: int) -> None:
        self.redis_port = redis_port
        self.web_port = web_port
        self.base = f"http://127.0.0.1:{web_port}"
        self.processes = Processes()

    def start_redis(self) -> None:
        self.processes.start(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(TMP),
            ],
            lambda: redis_up(self.redis_port),
        )

    def stop_redis(self) -> None:
        self.processes.stop("redis")

    def celery(self, name: str, queues: list[str], **kwargs: Any) -> None:
        from practice.celery import worker_command

        command = worker_command(queues, hostname=f"{name}-{os.getpid()}@%h", concurrency=2)
        self.processes.start(name, command, log_has(name, "ready.", log_size(name)), **kwargs)

    def start_default(self) -> None:
        from django.conf import settings

        self.celery("default", [settings.CELERY_TASK_DEFAULT_QUEUE])

    def start_reports(self, file_size_limit: int | None = None, name: str = "reports") -> None:
        from django.conf import settings

        self.celery(name, [settings.REPORTS_QUEUE], file_size_limit=file_size_limit)

    def start(self) -> None:
        self.start_redis()
        bin_dir = Path(sys.executable).parent

        def web_up() -> bool:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):  # noqa: S310
                    return True
            except OSError:
                return False

        self.processes.start(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "practice.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--log-level",
                "warning",
            ],
            web_up,
        )
        self.start_default()
        self.start_reports()
        self.processes.start(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "practice",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(TMP / "celerybeat-schedule"),
            ],
            log_has("beat", "beat: Starting"),
        )


def print_table(rows: list[Row]) -> None:
    head = ["scenario", "attempted", "persisted", "scored", "lost", "duplicated", "recovery time"]
    print("\n| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * 5 + ["---"]) + "|")
    for r in rows:
        print(
            f"| {r.scenario} | {r.attempted} | {r.persisted} | {r.scored} | {r.lost} | "
            f"{r.duplicated} | {r.recovery} |"
        )
    print()
    for r in rows:
        if r.note:
            print(f"  {r.scenario}: {r.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=20, help="partners per scenario (even)")
    parser.add_argument("--reports", type=int, default=3, help="reports per report scenario")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    redis_port, web_port = free_port(), free_port()
    _common.configure(
        DB_NAME,
        broker=f"redis://127.0.0.1:{redis_port}/0",
        tmp=TMP,
        CACHE_URL=f"redis://127.0.0.1:{redis_port}/1",
        CELERY_QUEUE_PREFIX=PREFIX,
        ALLOWED_HOSTS="127.0.0.1",
    )
    os.environ["LOG_LEVEL"] = "WARNING"
    _common.create_database(DB_NAME)
    stack = Stack(redis_port, web_port)
    try:
        _common.migrate()
        _common.print_facts(_common.run_facts(("redis-server", redis_version())))
        people = make_partners(args.partners * 3)
        # Three groups of whole couples, one per answering scenario.
        n = len(people) // 3
        groups = [people[:n], people[n : 2 * n], people[2 * n :]]
        print(f"{len(people)} partners, {len(people) // 2} couples; logs in {TMP}")
        stack.start()
        couples = [p.couple for p, _, _ in groups[0][::2]]
        rows: list[Row] = []
        for scenario in (
            lambda: redis_outage(stack, groups[0]),
            lambda: [worker_killed_mid_score(stack, groups[1])],
            lambda: [worker_killed_mid_render(stack, couples, args.reports)],
            lambda: [storage_refused(stack, couples, args.reports)],
            lambda: [corrupt_answer_set(stack, groups[2])],
        ):
            for row in scenario():
                print(f"  done: {row}", flush=True)
                rows.append(row)
        print_table(rows)
        _common.print_end_state()
    finally:
        stack.processes.stop_all()
        _common.release_database(DB_NAME, args.keep_db)


def redis_version() -> str:
    return subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split(" ")[2]


if __name__ == "__main__":
    main()
