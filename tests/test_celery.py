"""The async plumbing: reliable configuration, scopes in tasks, commit-aware queueing."""

from __future__ import annotations

import contextlib
import importlib

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import get_scope
from kombu.exceptions import OperationalError

from practice.celery import ScopedTask
from practice.celery import app as celery_app
from practice.models import Heartbeat
from practice.tasks import heartbeat
from tests.worker import running_worker, wait_for


def test_configuration_is_reliable():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    if conf.broker_url.startswith("redis"):
        # A task redelivered while still running would be done twice.
        assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert "worker-heartbeat" in conf.beat_schedule


def test_every_task_uses_the_scoped_base():
    for app_name in ("practice", "clients", "assessments", "reports"):
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(f"{app_name}.tasks")
    ours = [t for name, t in celery_app.tasks.items() if not name.startswith("celery.")]
    assert ours
    assert all(isinstance(task, ScopedTask) for task in ours)


@pytest.mark.django_db
def test_a_task_with_practice_id_runs_inside_that_practices_scope(world):
    seen = {}

    @celery_app.task(name="tests.capture_scope")
    def capture_scope(*, practice_id: int) -> None:
        seen.update(get_scope())

    capture_scope.delay(practice_id=world.b.practice.pk)
    assert seen["practice"] == world.b.practice
    assert get_scope() == {}  # closed again afterwards


@pytest.mark.django_db(transaction=True)
def test_queued_only_after_commit_and_not_on_rollback(monkeypatch):
    sent = []
    monkeypatch.setattr(heartbeat, "apply_async", lambda args, kwargs: sent.append(kwargs))
    with transaction.atomic():
        heartbeat.delay_on_commit()
        assert sent == []
    assert sent == [{}]

    def queue_then_fail():
        with transaction.atomic():
            heartbeat.delay_on_commit()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        queue_then_fail()
    assert sent == [{}]


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_does_not_break_the_request(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(heartbeat, "apply_async", refuse)
    with transaction.atomic():
        heartbeat.delay_on_commit()
    assert "left for the sweeper" in caplog.text


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_the_real_broker(tmp_path):
    with running_worker(tmp_path / "worker.log") as worker:
        started = timezone.now()
        heartbeat.delay()
        wait_for(
            lambda: Heartbeat.objects.filter(name="worker", at__gte=started).exists(),
            30,
            worker,
            tmp_path / "worker.log",
        )
