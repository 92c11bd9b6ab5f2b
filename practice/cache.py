"""A Redis cache that keeps answering from local memory while Redis is unreachable.

Throttles, sign-in rate limits, chart caches and the sweepers' "sent lately"
keys all read the cache. None of them is worth a 500: while Redis is down each
process keeps its own short-lived memory cache instead, so limits still hold
per process (a looser limit for the length of the outage, never none) and
caches merely miss more. The outage is logged once when it starts and once
when it ends, not on every call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Errors that mean "Redis is not there", as opposed to a bug in how we call it.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class SharedClientRedis(RedisCacheClient):
    """Django's Redis client holder, keeping one ``redis.Redis`` per connection pool.

    Django builds a new ``redis.Redis`` (and its table of reply callbacks) for every
    cache call, which costs about as much as the round trip itself; a client is safe to
    reuse, and each thread has its own cache object anyway.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class FallbackRedisCache(RedisCache):
    """Django's RedisCache, falling back on a per-process memory cache when Redis is down.

    After a failure Redis is not tried again for ``RETRY_AFTER`` seconds, so a
    dead server costs one failed connection per process every few seconds,
    not one per call.
    """

    RETRY_AFTER = 5.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        # Fail fast: a cache that hangs is worse than a cache that misses.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = SharedClientRedis
        self._local = LocMemCache(f"fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def degraded(self) -> bool:
        """True while this process is answering from local memory."""
        return self._down_since is not None

    def _call(self, redis_call: Callable[[], T], local_call: Callable[[], T]) -> T:
        if self._down_since is not None and time.monotonic() < self._next_try:
            return local_call()
        try:
            result = redis_call()
        except UNREACHABLE as exc:
            self._went_down(exc)
            return local_call()
        self._came_back()
        return result

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            self._next_try = now + self.RETRY_AFTER
            if self._down_since is None:
                self._down_since = now
                log.warning(
                    "cache: Redis unreachable (%s); using local memory until it is back",
                    type(exc).__name__,
                )

    def _came_back(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds = time.monotonic() - self._down_since
            self._down_since = None
            log.warning("cache: Redis reachable again after %.0f s", seconds)

    def ping(self) -> bool:
        """Ask Redis itself (not the fallback) whether it answers; for /healthz."""
        try:
            client = self._cache.get_client(write=False)
            client.ping()
        except UNREACHABLE as exc:
            self._went_down(exc)
            return False
        self._came_back()
        return True

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._call(
            lambda: super(FallbackRedisCache, self).add(key, value, timeout, version),
            lambda: self._local.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call(
            lambda: super(FallbackRedisCache, self).get(key, default, version),
            lambda: self._local.get(key, default, version),
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._call(
            lambda: super(FallbackRedisCache, self).set(key, value, timeout, version),
            lambda: self._local.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(
            lambda: super(FallbackRedisCache, self).touch(key, timeout, version),
            lambda: self._local.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            lambda: super(FallbackRedisCache, self).delete(key, version),
            lambda: self._local.delete(key, version),
        )

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        return self._call(
            lambda: super(FallbackRedisCache, self).get_many(keys, version),
            lambda: self._local.get_many(keys, version),
        )

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            lambda: super(FallbackRedisCache, self).has_key(key, version),
            lambda: self._local.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._call(
            lambda: super(FallbackRedisCache, self).incr(key, delta, version),
            lambda: self._local.incr(key, delta, version),
        )

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._call(
            lambda: super(FallbackRedisCache, self).set_many(data, timeout, version),
            lambda: self._local.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        keys = list(keys)
        self._call(
            lambda: super(FallbackRedisCache, self).delete_many(keys, version),
            lambda: self._local.delete_many(keys, version),
        )

    def clear(self) -> None:
        self._local.clear()
        self._call(lambda: super(FallbackRedisCache, self).clear(), lambda: None)
