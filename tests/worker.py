"""A real Celery worker process for tests, on the broker the suite is configured with."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from practice.celery import app as celery_app
from practice.celery import worker_command

ROOT = Path(__file__).resolve().parent.parent


def current_database_url() -> str:
    """A DATABASE_URL naming the database this test run is using right now."""
    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(cfg['NAME']).resolve()}"
    user = quote(cfg.get("USER") or "")
    password = quote(cfg.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{auth}{cfg.get('HOST') or 'localhost'}{port}/{cfg['NAME']}"


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = current_database_url()
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env["CELERY_QUEUE_PREFIX"] = settings.QUEUE_PREFIX
    env["PRIVATE_MEDIA_ROOT"] = str(settings.STORAGES["default"]["OPTIONS"]["location"])
    env["EMAIL_URL"] = "dummy://"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def real_broker() -> Iterator[None]:
    """Send tasks to the broker instead of running them inline (the unit-test default)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@contextmanager
def running_worker(
    log_path: Path, queues: Sequence[str] | None = None, extra: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `celery worker` as a child process and stop it afterwards.

    Waits until the worker reports ready. Tasks queued by the test process
    while this runs go through the real broker to this process.
    """
    queues = queues or [settings.CELERY_TASK_DEFAULT_QUEUE, settings.REPORTS_QUEUE]
    command = worker_command(queues, hostname=f"test-{os.getpid()}@%h", extra=extra)
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=ROOT, env=worker_env(), stdout=log_file, stderr=subprocess.STDOUT
    )
    previous_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        wait_for(lambda: b"ready." in log_path.read_bytes(), 60, process, log_path)
        yield process
    finally:
        celery_app.conf.task_always_eager = previous_eager
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


def wait_for(condition, timeout: float, process=None, log_path: Path | None = None) -> None:
    """Poll until the condition holds, failing with the worker's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    log = log_path.read_text(errors="replace")[-4000:] if log_path else ""
    raise AssertionError(f"condition not met within {timeout}s\n--- worker log ---\n{log}")
