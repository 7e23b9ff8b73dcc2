"""Error answers of the API: the right status, JSON, and never a huge input echoed back."""

import json
import zlib

import pytest
from django.test import Client

from ledger.models import Trade


def test_a_json_endpoint_refuses_a_form_body_with_415_naming_json(api):
    response = api.post(
        "/api/trades/",
        "ticker=AAPL&side=buy&price=1&quantity=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert response.json()["accepted"] == ["application/json"]


def test_a_body_without_content_type_is_415_not_field_required(api):
    response = api.generic("POST", "/api/trades/", b'{"ticker": "AAPL"}', content_type="")
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["*/*", "application/*", "*/json", "*/*; charset=utf-8"])
def test_a_wildcard_content_type_is_415_not_read_as_json(api, content_type):
    body = json.dumps(
        {
            "ticker": "AAPL",
            "side": "buy",
            "price": "1",
            "quantity": "1",
            "timestamp": "2025-01-20T14:30:00Z",
        }
    )
    response = api.generic("POST", "/api/trades/", body, content_type=content_type)
    assert response.status_code == 415
    assert content_type in response.json()["detail"]
    assert response.json()["accepted"] == ["application/json"]
    assert not Trade.objects.exists()


@pytest.mark.parametrize("charset", ["zlib", "rot13", "hex", "utf-16", "latin-1", "no-such"])
def test_a_json_body_in_any_charset_but_utf8_is_a_415_naming_it(api, charset):
    body = json.dumps({"ticker": "AAPL", "side": "buy", "price": "1", "quantity": "1"})
    # A 40 KB body that unpacks to 30 MB must not be unpacked past the body limit.
    payload = zlib.compress(body.encode()[:-1] + b', "pad": "' + b"a" * 30_000_000 + b'"}', 9)
    response = api.generic(
        "POST", "/api/trades/", payload, content_type=f"application/json; charset={charset}"
    )
    assert response.status_code == 415
    assert response.json()["detail"] == (
        f"charset={charset} is not supported; send the request as UTF-8."
    )
    assert not Trade.objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "utf_8"])
def test_a_json_body_declared_utf8_in_any_spelling_is_read(api, charset):
    body = json.dumps({"ticker": "AAPL", "side": "buy", "price": "1", "quantity": "1"})
    response = api.generic(
        "POST", "/api/trades/", body, content_type=f"application/json; charset={charset}"
    )
    assert response.status_code == 201


def test_an_upload_in_a_charset_other_than_utf8_is_a_415(api):
    response = api.generic(
        "POST",
        "/api/backtests/",
        b"--b\r\nContent-Disposition: form-data; name=kind\r\n\r\nsma\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b; charset=zlib",
    )
    assert response.status_code == 415
    assert "charset=zlib" in response.json()["detail"]


def test_the_backtest_upload_still_takes_multipart_and_names_both_types(api):
    response = api.post("/api/backtests/", "kind=sma", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["accepted"] == ["application/json", "multipart/form-data"]


def test_errors_do_not_echo_a_huge_input(api):
    side = "x" * 1_000_000
    response = api.post(
        "/api/trades/", {"ticker": "AAPL", "side": side, "price": "1", "quantity": "1"}
    )
    assert response.status_code == 400
    assert len(response.content) < 1000
    message = response.json()["side"][0]
    assert "characters cut" in message and "'buy' or 'sell'" in message


@pytest.fixture
def production_client():
    """What a client of a DJANGO_DEBUG=0 server gets (pytest-django runs with DEBUG off):
    errors answered by the error pages instead of raised into the test."""
    return Client(raise_request_exception=False)


def test_a_server_error_on_an_api_path_is_json(production_client, user, monkeypatch):
    from ledger.api import views

    def broken(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.TradeViewSet, "list", broken)
    production_client.force_login(user)
    response = production_client.get("/api/trades/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Internal server error."}


def test_a_bad_request_outside_drf_on_an_api_path_is_json(production_client, db):
    response = production_client.get("/api/trades/", HTTP_HOST="not-allowed.example")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}


def test_too_many_fields_is_a_json_400(api, settings):
    query = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api.get(f"/api/trades/?{query}")
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]


def test_a_domain_error_answers_with_its_own_headers(settings):
    from api.errors import DomainError, ServiceUnavailable, exception_handler

    class Busy(ServiceUnavailable):
        component = "queue"

    settings.OUTAGE_RETRY_AFTER_SECONDS = 7
    response = exception_handler(Busy("the queue is down"), {})
    assert response.status_code == 503
    assert response.data == {"detail": "the queue is down", "component": "queue"}
    assert response["Retry-After"] == "7"
    assert "Retry-After" not in exception_handler(DomainError("bad"), {})
