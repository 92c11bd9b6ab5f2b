"""Redis down: the cache falls back on local memory, the API keeps answering, /healthz says so."""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache import cache
from django_scopes import scope

from practice.cache import FallbackRedisCache
from tests.factories import make_couple, open_form
from tests.test_portal import portal_client


def dead_redis_url() -> str:
    """A redis:// URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/1"


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "practice.cache.FallbackRedisCache", "LOCATION": dead_redis_url()}
    }
    return settings


def test_a_dead_redis_answers_from_local_memory_and_logs_once(redis_down, caplog):
    caplog.set_level(logging.WARNING, logger="practice.cache")
    assert cache.add("hits", 0, 60) is True
    for _ in range(5):
        cache.incr("hits")
    cache.set_many({"a": 1, "b": 2}, 60)
    assert cache.get("hits") == 5
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert cache.add("hits", 0, 60) is False
    cache.delete("a")
    assert not cache.has_key("a")
    outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage) == 1


def test_the_fallback_retries_redis_only_after_a_pause(redis_down, monkeypatch):
    from django.core.cache import caches

    backend = caches["default"]
    assert isinstance(backend, FallbackRedisCache)
    tries = []
    real = backend._cache.__class__.get

    def counting_get(client, key, default):
        tries.append(key)
        return real(client, key, default)

    monkeypatch.setattr(backend._cache.__class__, "get", counting_get)
    for _ in range(20):
        backend.get("x")
    assert len(tries) == 1  # one failed attempt, then local memory until RETRY_AFTER
    assert backend.degraded
    monkeypatch.setattr(backend, "_next_try", 0.0)
    backend.get("x")
    assert len(tries) == 2


@pytest.mark.django_db
def test_the_api_and_portal_autosave_answer_with_redis_down(redis_down, world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one = couple.partners.get(position=1)
    occurrence = open_form(couple)
    client = portal_client(one)
    saved = client.patch(
        f"/api/v1/portal/forms/{occurrence.uuid}/answers/",
        {"answers": {"pulse": 7}},
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["answered"] == 1
    assert client.get("/portal/").status_code == 200


@pytest.mark.django_db
def test_throttles_still_limit_per_process_with_redis_down(redis_down, world, monkeypatch):
    from practice.api_throttles import IpThrottle, TokenThrottle
    from tests.conftest import signed_in

    # DRF reads the rates into a class attribute once; patch it for this test only.
    rates = {"token": "3/minute", "ip": "1000/minute"}
    monkeypatch.setattr(TokenThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IpThrottle, "THROTTLE_RATES", rates)
    client = signed_in(world.a.clinician)
    codes = [
        client.get(f"/api/v1/p/{world.a.practice.slug}/couples/").status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_healthz_names_each_dependency_and_stays_up_without_redis(redis_down, client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["broker"] == "eager"  # unit tests run tasks inline
    assert body["checks"]["worker"] == "missing"
    assert body["status"] == "degraded"
    assert answer["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_fails_only_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError

    from practice import health

    def broken_cursor():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"] == "down"
    assert answer.json()["checks"]["worker"] == "unknown"


def test_cache_calls_share_one_redis_client(redis_down):
    from django.core.cache import caches

    backend = caches["default"]
    # Django would build a new redis.Redis (and its reply-callback table) on every call.
    first = backend._cache.get_client(write=True)
    assert backend._cache.get_client(write=True) is first
    assert backend._cache.get_client("key", write=False) is first  # one server: one pool
