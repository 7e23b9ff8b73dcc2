"""The caches: the Redis one keeps its connections across requests (one pool per process);
both count a rate-limit window in one step."""

from __future__ import annotations

import time

import redis

from config.cache import LocalMemoryCache, SharedPoolRedisCache


def _connections_received(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_cache_objects_of_many_requests_share_one_connection(private_redis):
    before = _connections_received(private_redis.url)
    # Under ASGI each request context builds its own cache object from the settings.
    for request in range(20):
        cache = SharedPoolRedisCache(private_redis.url, {"OPTIONS": {"socket_timeout": 2.0}})
        cache.set(f"throttle:{request}", 1, 10)
        assert cache.get(f"throttle:{request}") == 1
    after = _connections_received(private_redis.url)
    # One for the cache's pool, one for the INFO call that reads the count.
    assert after - before <= 2


def test_cache_objects_of_many_requests_share_one_client(private_redis):
    """One redis-py client per pool: building one per command cost more CPU than the round
    trip (config/cache.py)."""
    caches = [
        SharedPoolRedisCache(private_redis.url, {"OPTIONS": {"socket_timeout": 2.0}})
        for _ in range(3)
    ]
    clients = [c._cache.get_client(write=w) for c in caches for w in (False, True)]
    assert all(client is clients[0] for client in clients)
    caches[0].set("shared", 1, 10)
    assert caches[2].get("shared") == 1


def test_a_window_counter_counts_in_one_round_trip_and_expires(private_redis):
    cache = SharedPoolRedisCache(private_redis.url, {"OPTIONS": {"socket_timeout": 2.0}})
    client = redis.Redis.from_url(private_redis.url)
    try:
        cache.count_in_window("throttle:user:8:1", 61)  # the pool's connection is open
        before = int(client.info("stats")["total_commands_processed"])
        assert [cache.count_in_window("throttle:user:7:1", 61) for _ in range(3)] == [1, 2, 3]
        # INCR and EXPIRE per call, sent together (and the INFO call that reads the count).
        assert int(client.info("stats")["total_commands_processed"]) - before == 3 * 2 + 1
        key = cache.make_and_validate_key("throttle:user:7:1")
        assert 59 <= client.ttl(key) <= 61  # set by the first call, not pushed back by later
        client.expire(key, 1)
        time.sleep(1.2)
        assert cache.count_in_window("throttle:user:7:1", 61) == 1  # a fresh window
        assert 59 <= client.ttl(key) <= 61
    finally:
        client.close()


def test_the_local_cache_counts_a_window_and_expires_it(monkeypatch):
    cache = LocalMemoryCache("test-windows", {})
    assert [cache.count_in_window("throttle:user:7:1", 2) for _ in range(3)] == [1, 2, 3]
    assert cache.get("throttle:user:7:1") == 3  # an ordinary entry
    assert cache.count_in_window("throttle:user:8:1", 2) == 1  # each key its own
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 1.5)
    assert cache.count_in_window("throttle:user:7:1", 2) == 4  # expiry not pushed back
    monkeypatch.setattr(time, "time", lambda: now + 2.5)
    assert cache.count_in_window("throttle:user:7:1", 2) == 1  # a fresh window


def test_without_redis_the_throttles_count_in_the_local_cache():
    from django.core.cache import caches

    assert isinstance(caches["default"], LocalMemoryCache)
