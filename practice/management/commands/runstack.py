"""Run the web server, a Celery worker and Celery beat together, for local use."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from practice.celery import worker_command
from practice.models import Heartbeat
from practice.tasks import heartbeat


class Command(BaseCommand):
    help = "Start web + Celery worker + beat in the foreground; Ctrl+C stops all three."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, host: str, port: str, **options: Any) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "practice"]
        processes = {
            "worker": worker_command(
                [settings.CELERY_TASK_DEFAULT_QUEUE, settings.REPORTS_QUEUE],
                hostname="local@%h",
                concurrency=2,
            ),
            "beat": [
                *celery,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
            "web": [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
        }
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in processes.items():
            children[name] = subprocess.Popen(command)  # noqa: S603 - our own interpreter
        self.stdout.write(
            self.style.SUCCESS(
                f"\nAttune is starting at http://{host}:{port}/ "
                "(web, Celery worker and beat). Ctrl+C stops everything.\n"
            )
        )
        exit_code = 0
        started = timezone.now()
        worker_seen = False
        heartbeat.delay()  # the worker's first task proves it is consuming
        while not stopping:
            if (
                not worker_seen
                and Heartbeat.objects.filter(name="worker", at__gte=started).exists()
            ):
                worker_seen = True
                self.stdout.write(self.style.SUCCESS("The Celery worker is processing tasks."))
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with status {child.returncode}; stopping.")
                    exit_code = child.returncode or 1
                    stopping = True
                    break
            time.sleep(0.5)
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if exit_code:
            sys.exit(exit_code)
