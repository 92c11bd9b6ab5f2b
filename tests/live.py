"""A real HTTP server process (gunicorn) over the test database, for tests that drive the
API from outside the way an integrator does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.worker import ROOT, wait_for, worker_env


def free_port(offset: int) -> int:
    """ATTUNE_TEST_PORT_BASE + offset when set (to keep to an agreed range), else any free."""
    base = os.environ.get("ATTUNE_TEST_PORT_BASE")
    if base:
        return int(base) + offset
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback server
            return True
    except OSError:
        return False


@contextmanager
def live_server(
    log_path: Path, *, port_offset: int = 0, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start gunicorn on 127.0.0.1 against the database this test uses; yields its URL.

    It shares the test's broker, private files and queue prefix (tests.worker), so a
    worker started with ``running_worker`` renders what it queues. Its access log (request
    lines) goes to ``log_path``.
    """
    port = free_port(port_offset)
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "practice.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--access-logfile",
        "-",
    ]
    server_env = {**worker_env(), "SITE_URL": url, **(env or {})}
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=ROOT, env=server_env, stdout=log_file, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), 60, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()
