"""The per-user cap on open WebSockets (``LIVE_WS_MAX_PER_USER``).

Counted across every web process: in the scaled mode each user's open sockets are members of
one Redis sorted set scored by an expiry that the owning process renews every
``RENEW_SECONDS`` (a process that dies leaves entries that expire within ``EXPIRY_SECONDS``);
in the embedded mode, in process memory. If Redis cannot be reached the socket is allowed
(the cap fails open; prices cannot flow then anyway) and that is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

logger = logging.getLogger(__name__)

EXPIRY_SECONDS = 90.0
RENEW_SECONDS = 30.0
_KEY = "tradepulse:live:sockets:{}"

# KEYS[1] the user's set; ARGV: now, expiry, cap, member. 1 = admitted, 0 = over the cap.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) - tonumber(ARGV[1])) + 1)
return 1
"""


class SocketQuota:
    def __init__(self, cap: int, redis=None) -> None:
        self.cap = cap
        self.redis = redis
        self._mine: dict[str, int] = {}  # member -> user id, for this process
        self._script = redis.register_script(_ACQUIRE) if redis is not None else None
        self._prefix = uuid.uuid4().hex[:12]
        self._count = 0

    def _member(self) -> str:
        self._count += 1
        return f"{self._prefix}:{self._count}"

    async def acquire(self, user_id: int) -> str | None:
        """A ticket for one more socket of ``user_id``, or None when the user is at the cap."""
        member = self._member()
        if self.redis is None:
            if sum(1 for uid in self._mine.values() if uid == user_id) >= self.cap:
                return None
        else:
            now = time.time()
            try:
                admitted = await self._script(
                    keys=[_KEY.format(user_id)],
                    args=[now, now + EXPIRY_SECONDS, self.cap, member],
                )
            except Exception as exc:
                logger.warning("live: socket cap not checked (Redis unavailable): %r", exc)
                admitted = 1
            if not admitted:
                return None
        self._mine[member] = user_id
        return member

    async def release(self, ticket: str) -> None:
        user_id = self._mine.pop(ticket, None)
        if user_id is None or self.redis is None:
            return
        try:
            await self.redis.zrem(_KEY.format(user_id), ticket)
        except Exception as exc:
            logger.info("live: socket ticket not released (it expires by itself): %r", exc)

    async def renew_loop(self) -> None:
        """Keep this process's tickets alive (scaled mode); runs until cancelled."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            if self.redis is None or not self._mine:
                continue
            expiry = time.time() + EXPIRY_SECONDS
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for member, user_id in list(self._mine.items()):
                        pipe.zadd(_KEY.format(user_id), {member: expiry})
                        pipe.expire(_KEY.format(user_id), int(EXPIRY_SECONDS) + 1)
                    await pipe.execute()
            except Exception as exc:
                logger.warning("live: socket tickets not renewed: %r", exc)
