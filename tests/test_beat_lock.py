"""One beat at a time: the Redis lock a beat holds while it schedules (practice/beat.py).

Against the Redis the suite is configured with; skipped on the filesystem broker,
where the embedded default runs one beat by construction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest
import redis
from django.conf import settings

from practice.beat import BeatLock
from practice.celery import app as celery_app
from tests.worker import ROOT, wait_for, worker_env

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"), reason="the beat lock lives in Redis"
)


@pytest.fixture
def client():
    connection = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield connection
    connection.close()


@pytest.fixture
def key(client):
    name = f"attune:test-beat:{uuid.uuid4().hex}"
    yield name
    client.delete(name)


def test_beat_takes_the_lock_before_it_schedules():
    from celery.signals import beat_init

    receivers = [ref() for _, ref in beat_init.receivers]
    assert any(getattr(r, "__name__", "") == "_one_beat" for r in receivers)
    assert celery_app.conf.beat_schedule  # the nightly jobs this lock keeps single


def test_a_second_beat_waits_until_the_first_lets_go(client, key):
    first, second = BeatLock(client, key=key, seconds=30), BeatLock(client, key=key, seconds=30)
    assert first.acquire(wait=0)
    assert not second.acquire(wait=0.3)
    first.release()
    assert second.acquire(wait=2)
    assert not first.renew()  # it is the second's now
    assert second.renew()


def test_a_beat_that_died_is_replaced_when_its_lock_lapses(client, key):
    dead = BeatLock(client, key=key, seconds=0.5)
    assert dead.acquire(wait=0)
    standby = BeatLock(client, key=key, seconds=30)
    assert standby.acquire(wait=5)
    # The old one, had it only been paused, finds out at its next renewal.
    assert not dead.renew()


def test_a_beat_whose_lock_was_taken_is_told_to_stop(client, key):
    holder = BeatLock(client, key=key, seconds=0.6)
    assert holder.acquire(wait=0)
    lost = threading.Event()
    stop = holder.keep(lost.set)
    try:
        client.delete(key)  # as after a Redis failover that lost the key
        assert BeatLock(client, key=key, seconds=30).acquire(wait=0)
        assert lost.wait(timeout=5)
    finally:
        stop.set()


def beat(log_path, schedule, env):
    command = [sys.executable, "-m", "celery", "-A", "practice", "beat", "--loglevel", "INFO",
               "--schedule", str(schedule)]  # fmt: skip
    log = log_path.open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.worker
@pytest.mark.django_db
def test_two_real_beats_schedule_one_at_a_time(tmp_path, client):
    env = worker_env()
    # Queues of their own, so the heartbeats they send reach no test worker.
    env["CELERY_QUEUE_PREFIX"] = f"beat-test-{uuid.uuid4().hex[:8]}-"
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    first = beat(logs[0], tmp_path / "s1", env)
    second = None
    try:
        wait_for(lambda: b"beat lock held" in logs[0].read_bytes(), 60, first, logs[0])
        second = beat(logs[1], tmp_path / "s2", env)
        wait_for(lambda: b"waiting for the beat lock" in logs[1].read_bytes(), 60, second, logs[1])
        assert b"beat lock held" not in logs[1].read_bytes()
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
        # Released on exit: the standby takes over without waiting for the lock to lapse.
        wait_for(lambda: b"beat lock held" in logs[1].read_bytes(), 30, second, logs[1])
    finally:
        for process in (first, second):
            if process and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        for name in client.scan_iter(f"{env['CELERY_QUEUE_PREFIX']}*"):
            client.delete(name)
    assert os.path.getsize(logs[1]) > 0
