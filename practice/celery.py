"""The Celery application and the task base that opens a practice scope."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import Celery
from celery.contrib.django.task import DjangoTask
from celery.schedules import crontab
from celery.signals import beat_init
from django.db import transaction
from kombu.exceptions import OperationalError

from practice.beat import hold_lock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "practice.settings")
log = logging.getLogger(__name__)

app = Celery("attune", task_cls="practice.celery:ScopedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "practice.tasks.heartbeat", "schedule": 30},
    "purge-sign-in-failures": {
        "task": "practice.tasks.purge_sign_in_failures",
        "schedule": 60 * 60,
    },
    "sweep-unscored": {"task": "assessments.tasks.sweep_unscored", "schedule": 60},
    "sweep-sign-in-links": {"task": "clients.tasks.sweep_sign_in_links", "schedule": 60},
    "sweep-alert-emails": {"task": "assessments.tasks.sweep_alert_emails", "schedule": 60},
    "open-due-occurrences": {"task": "assessments.tasks.open_due_occurrences", "schedule": 15 * 60},
    "send-reminders": {
        "task": "assessments.tasks.send_reminders",
        "schedule": crontab(hour=9, minute=0),
    },
    "raise-overdue-alerts": {
        "task": "assessments.tasks.raise_overdue_alerts",
        "schedule": crontab(hour=6, minute=30),
    },
    "requeue-stale-reports": {"task": "reports.tasks.requeue_stale_reports", "schedule": 15},
    "sweep-exports": {"task": "reports.tasks.sweep_exports", "schedule": 15 * 60},
    "monthly-reports": {
        "task": "reports.tasks.monthly_reports",
        "schedule": crontab(day_of_month=1, hour=4, minute=0),
    },
    "estimate-norms": {
        "task": "assessments.tasks.estimate_norms",
        "schedule": crontab(hour=3, minute=15),
    },
}
app.autodiscover_tasks()


@beat_init.connect
def _one_beat(sender: Any, **kwargs: Any) -> None:
    """However many beats run, only the one holding the lock schedules (practice/beat.py)."""
    hold_lock()


@app.on_after_configure.connect
def _prepare_filesystem_broker(sender: Celery, **kwargs: Any) -> None:
    """The filesystem transport needs its folders to exist before anyone uses them."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        folder = options.get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


# Sweepers queue a lost task again at most once in this many seconds.
REQUEUE_QUIET_SECONDS = 600


class ScopedTask(DjangoTask):
    """Base for every task.

    A task that takes a ``practice_id`` keyword argument runs inside that
    practice's scope, so its body sees that practice's rows and nobody
    else's. ``delay_on_commit`` queues only once the surrounding transaction
    has committed.
    """

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Queue the task after commit; a broker that is down loses nothing.

        The work is already a committed row, so when the broker cannot be
        reached the request still succeeds and a periodic sweeper queues the
        task later.
        """
        transaction.on_commit(functools.partial(self._enqueue_or_log, args, kwargs))

    def _enqueue_or_log(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self.apply_async(args, kwargs)
        except (OperationalError, OSError):
            log.warning("broker unavailable; %s left for the sweeper", self.name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        practice_id = kwargs.get("practice_id")
        if practice_id is None:
            return super().__call__(*args, **kwargs)
        from django_scopes import scope

        from practice.models import Practice

        practice = Practice.objects.get(pk=practice_id)
        with scope(practice=practice):
            return super().__call__(*args, **kwargs)


def worker_command(
    queues: Sequence[str],
    *,
    hostname: str,
    concurrency: int = 1,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line that starts a worker of this app on ``queues``.

    One place for ``runstack``, the test harness and the benchmarks, so they
    all start the worker the same way. Logs at INFO, where the worker says
    "ready." once it consumes.
    """
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "practice",
        "worker",
        "--queues",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        hostname,
        *extra,
    ]
