"""An API operation takes the query parameters its OpenAPI document declares, each once."""

from __future__ import annotations

import pytest

from api.pagination import KeysetPagination
from api.query_params import declared, generated
from ledger.api.filters import TradeFilter
from ledger.models import Trade
from live.api.filters import AlertFilter
from tests.support import openapi

TRADE = {
    "ticker": "AAPL",
    "side": "buy",
    "price": "187.25",
    "quantity": "10",
    "timestamp": "2025-01-20T14:30:00Z",
}


def _query_names(path: str, method: str = "get") -> set[str]:
    operation = openapi.document()["paths"][path][method]
    return {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}


@pytest.mark.parametrize(
    ("path", "filters"), [("/api/trades/", TradeFilter), ("/api/alerts/", AlertFilter)]
)
def test_a_list_documents_its_filters_and_paging(path, filters):
    paging = {KeysetPagination.cursor_query_param, KeysetPagination.page_size_query_param}
    assert set(filters.base_filters) | paging <= _query_names(path)


def test_every_documented_parameter_of_the_trade_list_is_taken(api):
    api.post("/api/trades/", TRADE, format="json")
    query = {
        "ticker": "aapl",
        "side": "BUY",
        "start_date": "2025-01-20",
        "end_date": "2025-01-20",
        "page_size": "5",
        "format": "json",
    }
    assert set(query) | {"cursor"} == _query_names("/api/trades/")
    response = api.get("/api/trades/", query)
    assert response.status_code == 200, response.json()
    assert [t["ticker"] for t in response.json()["results"]] == ["AAPL"]


def test_an_unknown_parameter_is_a_400_naming_it_and_what_the_operation_takes(api):
    api.post("/api/trades/", TRADE, format="json")
    response = api.get("/api/trades/", {"tickr": "MSFT"})
    assert response.status_code == 400
    [message] = response.json()["tickr"]
    assert message == (
        "Unknown parameter: GET /api/trades/ takes "
        "cursor, end_date, format, page_size, side, start_date, ticker."
    )


def test_a_parameter_given_twice_is_a_400(api):
    response = api.get("/api/trades/?ticker=AAPL&side=buy&ticker=MSFT")
    assert response.status_code == 400
    assert response.json() == {"ticker": ["Given 2 times; give it once."]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/trades/{id}/"),
        ("delete", "/api/trades/{id}/"),
        ("get", "/api/positions/"),
        ("get", "/api/backtests/"),
    ],
)
def test_operations_without_the_parameter_refuse_it(api, method, path):
    trade_id = api.post("/api/trades/", TRADE, format="json").json()["id"]
    response = getattr(api, method)(path.format(id=trade_id) + "?ticker_=AAPL")
    assert response.status_code == 400
    assert list(response.json()) == ["ticker_"]
    assert Trade.objects.filter(pk=trade_id).exists()


def test_a_write_may_carry_the_query_of_the_page_it_was_sent_from(api):
    # DRF's browsable API posts its form to the list page's own URL.
    response = api.post("/api/trades/?ticker=AAPL&page_size=5&format=json", TRADE, format="json")
    assert response.status_code == 201, response.json()
    assert Trade.objects.count() == 1


def test_a_refused_write_stores_nothing(api):
    response = api.post("/api/trades/?dry_run=1", TRADE, format="json")
    assert response.status_code == 400
    assert "dry_run" in response.json()
    assert not Trade.objects.exists()


def test_format_is_taken_everywhere_and_the_negotiation_answers_it(api):
    assert api.get("/api/alerts/?format=json").status_code == 200
    assert api.head("/api/trades/?ticker=AAPL").status_code == 200
    assert api.head("/api/trades/?tickr=AAPL").status_code == 400


def test_a_huge_parameter_name_is_not_sent_back_whole(api):
    response = api.get("/api/trades/", {"x" * 5000: "1"})
    assert response.status_code == 400
    [name] = response.json()
    assert len(name) < 300 and "characters cut" in name


def test_views_outside_the_document_are_not_checked(api):
    response = api.get("/api/schema/?format=json&lang=en")
    assert response.status_code == 200


@pytest.mark.urls("bench.ledger_peer")
def test_apps_mounted_outside_the_api_are_not_checked(api):
    # The benchmarks' plain DRF peer, whose filters its document cannot see.
    generated.cache_clear()  # read from this URLconf
    declared.cache_clear()
    response = api.get("/peer/trades/?ticker=aapl&page=1")
    assert response.status_code == 200
    assert api.get("/api/trades/?tickr=AAPL").status_code == 400
    generated.cache_clear()
    declared.cache_clear()


def test_at_most_ten_unknown_parameters_are_named(api):
    query = "&".join(f"p{n}=1" for n in range(800))
    response = api.get(f"/api/trades/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [f"p{n}" for n in range(10)]


def test_too_many_fields_is_the_apis_own_400(api, settings):
    query = "&".join("a=1" for _ in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api.get(f"/api/trades/?{query}")
    assert response.status_code == 400
    assert "number of GET/POST parameters" in response.json()["detail"]
