"""``Idempotency-Key`` handling for POST requests.

Contract: the first request with a key reserves it (committed at once, so a concurrent retry
sees it), runs, and stores its response in the same transaction as its writes. A retry with the
same key and body replays the stored response (its JSON kept as text: the same keys in the same
order); with another body it is refused (422); while the first is still running it is refused
(409). Keys are per user and expire after the TTL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from ledger.models import IdempotencyKey

MAX_KEY_LENGTH = 255
# A reservation this old belongs to a request that died; a retry may take it over.
ABANDONED_AFTER = timedelta(minutes=2)
# A release that fails because the database went away is tried again on a new connection for
# about this long, so that a retry after the outage runs instead of waiting ABANDONED_AFTER.
RELEASE_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.5, 2.0)

logger = logging.getLogger(__name__)


class IdempotencyError(Exception):
    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_body(self) -> dict[str, str]:
        return {"detail": self.message, "header": "Idempotency-Key"}


class KeyInUse(IdempotencyError):
    status_code = 409


class KeyReusedWithOtherRequest(IdempotencyError):
    status_code = 422


class InvalidKey(IdempotencyError):
    status_code = 400


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


def fingerprint(method: str, path: str, data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def reserve(*, owner, key: str, request_hash: str) -> IdempotencyKey | Replay:
    """Reserve ``key`` for this request, or return the stored response to replay."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidKey(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.")
    now = timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    owner=owner, key=key, request_hash=request_hash, created_at=now
                )
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
        if existing is None:
            continue  # released between our insert and our read; try again
        if existing.created_at < now - _ttl() or (
            existing.state == IdempotencyKey.State.RUNNING
            and existing.created_at < now - ABANDONED_AFTER
        ):
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != request_hash:
            raise KeyReusedWithOtherRequest(
                "Idempotency-Key was already used with a different request body."
            )
        if existing.state == IdempotencyKey.State.RUNNING:
            raise KeyInUse("A request with this Idempotency-Key is still being processed.")
        stored = existing.response_body
        return Replay(
            status=existing.response_status, body=None if stored is None else json.loads(stored)
        )
    raise KeyInUse("A request with this Idempotency-Key is still being processed.")


def complete(record: IdempotencyKey, *, status: int, body: Any) -> None:
    """Store the response; call inside the transaction that made the request's writes."""
    record.state = IdempotencyKey.State.DONE
    record.response_status = status
    record.response_body = json.dumps(body)
    record.save(update_fields=["state", "response_status", "response_body"])


def release(record: IdempotencyKey) -> None:
    """Forget a reservation whose request failed, so that a retry runs again.

    When the request failed because the database went away (a restart), the connection it had
    is dead: drop it and try on a new one until the database is back or the delays run out
    (then the reservation is taken over after ``ABANDONED_AFTER``).
    """
    for delay in (*RELEASE_DELAYS, None):
        try:
            IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.RUNNING).delete()
            return
        except DatabaseError:
            if delay is None or connection.in_atomic_block:
                logger.warning(
                    "Idempotency-Key reservation %s not released; a retry waits until it is "
                    "abandoned",
                    record.pk,
                    exc_info=True,
                )
                return
            connection.close()
            time.sleep(delay)


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - _ttl()).delete()
    return deleted
