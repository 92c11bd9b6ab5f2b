"""The fault suite's own Redis and real workers, and the ways it breaks them.

Its fixtures are imported by tests/faults/conftest.py and by the browser outage
test in tests/browser/ (which needs the browser's session-wide fixtures there).

Every test here starts a Redis server of its own (a child process on a free
local port, nothing saved to disk) and real Celery workers as child processes,
against the database the suite runs on, which must be PostgreSQL: the point is
the production layout, and a worker under a file-size limit could not write a
SQLite file anyway. All loops are bounded and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from practice.celery import app as celery_app
from practice.celery import worker_command
from tests.worker import ROOT, wait_for, worker_env

# Short leases, so a dead renderer's report is taken over in seconds here.
LEASE_SECONDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server child process that can be stopped and started again on its port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not redis_ping(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def pool_children(pid: int) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return [int(child) for child in found]


@dataclass
class Worker:
    """A real `celery worker` child process and its log."""

    process: subprocess.Popen[bytes]
    log: Path
    _log_file: object = field(repr=False, default=None)

    def logged(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> None:
        wait_for(condition, timeout, self.process, self.log)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a lost machine would."""
        children = pool_children(self.process.pid)
        for child in children:
            os.kill(child, signal.SIGKILL)
        self.process.kill()
        self.process.wait(timeout=10)

    def kill_pool_child(self) -> None:
        """SIGKILL the pool process running the task (an OOM kill); the worker lives on."""
        for child in pool_children(self.process.pid):
            os.kill(child, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Stack:
    redis: RedisServer
    tmp: Path
    workers: list[Worker] = field(default_factory=list)

    def worker(
        self,
        name: str,
        queues: Sequence[str] | None = None,
        *,
        file_size_limit: int | None = None,
    ) -> Worker:
        """Start a worker on the suite's Redis and wait until it consumes.

        ``file_size_limit`` (bytes) sets RLIMIT_FSIZE on it: writing past it fails
        with EFBIG, a real kernel refusal that needs no root and no mount.
        """
        queues = queues or [settings.CELERY_TASK_DEFAULT_QUEUE, settings.REPORTS_QUEUE]
        env = {
            **worker_env(),
            "CACHE_URL": self.redis.url(1),
            "REPORT_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        log = self.tmp / f"worker-{name}.log"
        log_file = log.open("wb")

        def limit() -> None:
            if file_size_limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

        process = subprocess.Popen(
            worker_command(queues, hostname=f"fault-{name}-{os.getpid()}@%h"),
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=limit,  # only setrlimit, between fork and exec
        )
        worker = Worker(process, log, log_file)
        self.workers.append(worker)
        worker.wait_for(lambda: worker.logged("ready."), 60)
        return worker

    def stop_workers(self) -> None:
        """End every worker at once: the test is over and its Redis goes with it."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.kill()
            worker._log_file.close()  # type: ignore[attr-defined]
        self.workers.clear()


@contextmanager
def celery_on(broker_url: str) -> Iterator[None]:
    """Point this process's Celery app at the suite's Redis and send tasks through it."""
    conf = celery_app.conf
    saved = (conf.broker_transport_options, conf.task_always_eager)
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    conf.broker_transport_options = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 1,
        "socket_timeout": 5,
    }
    conf.task_always_eager = False
    _drop_connections()
    try:
        yield
    finally:
        conf.broker_transport_options, conf.task_always_eager = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        _drop_connections()


def _drop_connections() -> None:
    """Forget this app's pooled broker connections, so the next task uses the current URL.

    Kombu keeps one pool per URL for the process; they are left open for reuse.
    """
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def stack(settings, tmp_path) -> Iterator[Stack]:
    """Redis of our own for broker and cache, production-shaped settings, workers on demand."""
    if connection.vendor != "postgresql":
        pytest.skip("the fault suite runs on PostgreSQL: set DATABASE_URL")
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (scripts/test_deps.py installs it)")
    redis = RedisServer(tmp_path)
    redis.start()
    settings.CACHES = {
        "default": {"BACKEND": "practice.cache.FallbackRedisCache", "LOCATION": redis.url(1)}
    }
    settings.CELERY_BROKER_URL = redis.url(0)
    settings.REPORT_LEASE_SECONDS = LEASE_SECONDS
    built = Stack(redis, tmp_path)
    try:
        yield built
    finally:
        built.stop_workers()
        redis.stop()


@pytest.fixture
def broker(stack) -> Iterator[None]:
    """Tasks queued by the test go to the suite's Redis (and fail to, while it is down)."""
    with celery_on(stack.redis.url(0)):
        yield
