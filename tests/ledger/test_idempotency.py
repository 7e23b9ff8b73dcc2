import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ledger.models import IdempotencyKey, Trade

BODY = {"ticker": "AAPL", "side": "buy", "price": "10", "quantity": "1"}


def post(client, body=BODY, key="key-1", url="/api/trades/"):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_retry_with_same_key_and_body_replays_and_creates_nothing(api):
    first = post(api)
    second = post(api)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content  # the same bytes, keys in the same order
    assert second["Idempotent-Replayed"] == "true"
    assert Trade.objects.count() == 1


def test_same_key_with_different_body_is_422(api):
    post(api)
    response = post(api, {**BODY, "price": "11"})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["header"]
    assert Trade.objects.count() == 1


def test_retry_while_first_is_running_is_409(api, user):
    from ledger.idempotency import fingerprint

    IdempotencyKey.objects.create(
        owner=user, key="key-1", request_hash=fingerprint("POST", "/api/trades/", BODY)
    )
    response = post(api)
    assert response.status_code == 409
    assert Trade.objects.count() == 0


def test_keys_are_scoped_per_user(api, other_api):
    assert post(api).status_code == 201
    assert post(other_api, {**BODY, "price": "99"}).status_code == 201
    assert Trade.objects.count() == 2


def test_failed_request_releases_the_key_so_a_fixed_retry_runs(api):
    bad = post(api, {**BODY, "price": "-1"})
    assert bad.status_code == 400
    assert post(api, {**BODY, "price": "-1"}).status_code == 400
    assert IdempotencyKey.objects.count() == 0


def test_keys_expire_after_24_hours(api):
    post(api)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(api)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Trade.objects.count() == 2


def test_bulk_honours_idempotency(api):
    items = [BODY, {**BODY, "ticker": "MSFT"}]
    first = post(api, items, url="/api/trades/bulk/")
    second = post(api, items, url="/api/trades/bulk/")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert Trade.objects.count() == 2
    assert post(api, items[:1], url="/api/trades/bulk/").status_code == 422


def test_overlong_key_is_400(api):
    response = post(api, key="k" * 256)
    assert response.status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_create_one_trade(api):
    """Both requests race through real PostgreSQL connections; exactly one trade results."""
    from rest_framework.test import APIClient

    barrier = threading.Barrier(8)
    statuses = []

    def worker():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api.token}")
        barrier.wait()
        try:
            statuses.append(post(client, key="race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Trade.objects.filter(owner=api.user).count() == 1
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    # Once the first has finished, every retry replays it.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api.token}")
    assert post(client, key="race").status_code == 201
    assert Trade.objects.filter(owner=api.user).count() == 1


def test_a_stored_answer_without_a_body_replays_as_none(user):
    from ledger.idempotency import Replay, reserve

    IdempotencyKey.objects.create(
        owner=user, key="k", request_hash="h", state=IdempotencyKey.State.DONE, response_status=204
    )
    assert reserve(owner=user, key="k", request_hash="h") == Replay(status=204, body=None)


@pytest.mark.django_db(transaction=True)
def test_the_text_body_migration_can_be_undone_while_a_request_runs(api, user):
    from django.core.management import call_command

    from ledger.idempotency import reserve

    reserve(owner=user, key="running", request_hash="h")  # no answer stored yet
    first = post(api, key="done")
    call_command("migrate", "ledger", "0003", verbosity=0)
    call_command("migrate", "ledger", verbosity=0)
    again = post(api, key="done")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
