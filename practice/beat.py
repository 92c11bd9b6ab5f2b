"""One Celery beat at a time, however many are started.

Beat sends the nightly jobs and the sweepers; two of them would send each
twice. Before its scheduler starts, a beat takes a lock in Redis (the broker)
and keeps renewing it; a second beat waits at start-up until the lock is free,
so it is a warm standby that takes over within ``LOCK_SECONDS`` of the first
one's death. A beat that fails to renew (Redis lost its key, or another beat
took over after a long pause) stops at once rather than risk sending twice;
its container's restart policy brings it back as the standby.

With the filesystem broker (one machine, ``make run``) there is one beat by
construction and no lock.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import threading
from typing import Any

import redis
from django.conf import settings
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

LOCK_KEY = "attune:beat"
# Held this long without renewal; renewed every third of it.
LOCK_SECONDS = 60


class BeatLock:
    """The lock one beat holds while it schedules; renewable, released on exit."""

    def __init__(
        self, client: redis.Redis, *, key: str = LOCK_KEY, seconds: float = LOCK_SECONDS
    ) -> None:
        self.seconds = seconds
        self._lock = client.lock(
            key, timeout=seconds, sleep=min(1.0, seconds / 10), thread_local=False
        )

    def acquire(self, wait: float | None = None) -> bool:
        """Take the lock, waiting up to ``wait`` seconds (forever when None)."""
        return bool(self._lock.acquire(blocking=True, blocking_timeout=wait))

    def renew(self) -> bool:
        """Reset the lock's lifetime; False when it is no longer ours."""
        try:
            return bool(self._lock.reacquire())
        except (LockError, RedisError):
            return False

    def release(self) -> None:
        """Let the standby take over now rather than when the lock lapses."""
        # Already lapsed, or Redis is gone: then it expires on its own.
        with contextlib.suppress(LockError, RedisError):
            self._lock.release()

    def keep(self, on_lost: Any) -> threading.Event:
        """Renew from a background thread until the returned event is set.

        ``on_lost`` is called once if a renewal fails.
        """
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(self.seconds / 3):
                if not self.renew():
                    on_lost()
                    return

        threading.Thread(target=run, name="beat-lock", daemon=True).start()
        return stop


def _lost() -> None:
    log.error("beat lock lost; stopping so that only one beat sends scheduled tasks")
    os._exit(1)


def hold_lock(**kwargs: Any) -> None:
    """``beat_init`` receiver: wait for the beat lock, then keep it while beat runs."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return
    # A test run's beats (queue prefix "test-") never wait for a local `make run`'s.
    lock = BeatLock(redis.Redis.from_url(url), key=f"{LOCK_KEY}:{settings.QUEUE_PREFIX}")
    log.info("beat on %s waiting for the beat lock", socket.gethostname())
    lock.acquire()
    log.info("beat lock held; this beat schedules")
    lock.keep(_lost)
    atexit.register(lock.release)
