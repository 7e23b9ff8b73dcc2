"""The token cache's bookkeeping (``api.token_cache.TokenCache``): what it keeps, for how
long, and what a change makes it drop. Served against PostgreSQL: tests/server/test_token_cache.py."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from api import token_cache
from api.token_cache import TokenCache


def heard(cache: TokenCache) -> None:
    """As the listener does when its own notice comes back."""
    cache._heard = time.monotonic()


@pytest.fixture
def listening():
    cache = TokenCache()
    cache._seconds = 60.0
    cache._set_listening(True)  # as the listener does once its LISTEN is in place
    heard(cache)
    return cache


def test_a_stored_check_is_found(listening):
    _, generation = listening.get("d1")
    listening.put("d1", "found", generation)
    assert listening.get("d1")[0] == "found"
    assert listening.get("d2")[0] is None


def test_a_change_drops_every_entry(listening):
    listening.put("d1", "found", listening.get("d1")[1])
    listening.forget()
    assert listening.get("d1")[0] is None


def test_a_check_read_before_a_change_is_not_stored(listening):
    _, generation = listening.get("d1")  # the check starts and queries ...
    listening.forget()  # ... a token changes meanwhile ...
    listening.put("d1", "stale", generation)  # ... and what it read is not kept
    assert listening.get("d1")[0] is None


def test_nothing_is_kept_or_found_while_not_listening(listening):
    _, generation = listening.get("d1")
    listening.put("d1", "found", generation)
    listening._set_listening(False)  # the listener lost its connection
    assert listening.get("d1") == (None, None)
    listening.put("d1", "found", generation)
    listening._set_listening(True)
    heard(listening)
    assert listening.get("d1")[0] is None


def test_nothing_is_used_until_the_listeners_own_notice_comes_back(listening, monkeypatch):
    listening._set_listening(True)  # LISTEN done, no notice back yet
    assert listening.get("d1") == (None, None)
    heard(listening)
    _, generation = listening.get("d1")
    listening.put("d1", "found", generation)
    assert listening.get("d1")[0] == "found"
    # The notices stop coming back (a hung connection): the cache goes out of use.
    later = time.monotonic() + token_cache.STALE_SECONDS + 0.1
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: later)
    assert listening.get("d1") == (None, None)
    listening.put("d2", "found", generation)
    heard(listening)
    assert listening.get("d2")[0] is None


def test_an_entry_older_than_the_setting_is_not_used(listening, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: now[0])
    heard(listening)
    listening.put("d1", "found", listening.get("d1")[1])
    now[0] += 60
    heard(listening)
    assert listening.get("d1")[0] == "found"
    now[0] += 0.5
    heard(listening)
    assert listening.get("d1")[0] is None


def test_the_number_of_entries_is_bounded(listening, monkeypatch):
    monkeypatch.setattr(token_cache, "MAX_ENTRIES", 3)
    generation = listening.get("x")[1]
    for n in range(3):
        listening.put(f"d{n}", n, generation)
    listening.put("d0", "again", generation)  # an entry already kept is refreshed
    assert [listening.get(f"d{n}")[0] for n in range(3)] == ["again", 1, 2]
    listening.put("d3", 3, generation)  # full: the rest is dropped, the new one kept
    assert [listening.get(f"d{n}")[0] for n in range(4)] == [None, None, None, 3]


def test_off_in_the_test_process_and_outside_web_processes(settings):
    assert settings.API_TOKEN_CACHE_SECONDS == 0
    serving = TokenCache()
    serving.use_in_this_process()
    assert serving.enabled() is False
    settings.API_TOKEN_CACHE_SECONDS = 60
    assert TokenCache().enabled() is False  # not a web process: no listener
    if connection.vendor == "sqlite":
        assert serving.enabled() is False  # no notices


@pytest.mark.django_db(transaction=True)
def test_a_change_through_the_orm_drops_entries_at_once_and_at_its_commit(
    listening, monkeypatch, django_user_model
):
    from django.db import transaction

    monkeypatch.setattr(token_cache, "cache", listening)
    user = django_user_model.objects.create_user("carol")  # a new row: nothing to drop
    generation = listening.get("d1")[1]
    listening.put("d1", "found", generation)
    assert listening.get("d1")[0] == "found"
    with transaction.atomic():
        user.is_active = False
        user.save()
        assert listening.get("d1")[0] is None  # at once, for this thread
        # Another thread reads the old row before the commit and stores it ...
        listening.put("d1", "stale", listening.get("d1")[1])
    # ... and the commit drops it.
    assert listening.get("d1")[0] is None


@pytest.mark.django_db(transaction=True)
def test_revoking_through_tradepulse_drops_entries_after_the_delete(listening, monkeypatch):
    from django.contrib.auth import get_user_model

    from api import tokens

    monkeypatch.setattr(token_cache, "cache", listening)
    user = get_user_model().objects.create_user("dave")
    token, key = tokens.token_issue(user=user)
    for revoke in (
        lambda: tokens.token_revoke(key=key),
        lambda: tokens.tokens_revoke_all(user=user),
        tokens.tokens_purge_expired,
    ):
        listening.put("d1", "found", listening.get("d1")[1])
        revoke()
        assert listening.get("d1")[0] is None
