"""Fixtures of the trader's pages: a signed-in web client, a private algo folder."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(autouse=True)
def _web_settings(settings, tmp_path):
    settings.ALGO_DATA_DIR = tmp_path / "algo"
    settings.REDIS_URL = ""
    settings.PAPER_REFRESH_SECONDS = 3600.0


@pytest.fixture
def web(client, user):
    """Django's test client signed in as ``user`` with the session (as a web is)."""
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def other_web(other_user):
    from django.test import Client

    client = Client()
    client.force_login(other_user)
    client.user = other_user
    return client


def field_error(response, name: str, prefix: str = "id") -> str:
    """The message shown beside form field ``name`` (the element its input points to)."""
    html = response.content.decode()
    match = re.search(
        rf'<p class="error" id="{re.escape(prefix)}_{re.escape(name)}_error">(.*?)</p>', html, re.S
    )
    assert match, f"no error beside {name!r}"
    from html import unescape

    return unescape(match.group(1)).strip()
