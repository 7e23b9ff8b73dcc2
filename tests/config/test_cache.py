"""The Redis cache keeps its connections across requests (one pool per process)."""

from __future__ import annotations

import redis

from config.cache import SharedPoolRedisCache


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
