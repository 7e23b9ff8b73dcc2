"""The API's content negotiation answers as DRF's own does, except where DRF ignores the
client's quality values or answers an unknown ``?format=`` with a bare 404."""

from __future__ import annotations

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.negotiation import ContentNegotiation
from api.renderers import CSVRenderer, JSONRenderer

RENDERER_LISTS = [
    [JSONRenderer(), BrowsableAPIRenderer()],
    [JSONRenderer(), BrowsableAPIRenderer(), CSVRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
    [CSVRenderer(), JSONRenderer()],
]

ACCEPTS = [
    None,
    "",
    "*/*",
    " */* ",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/csv",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "*/*;q=0.5",
    "text/*",
]


def _outcome(negotiation, request, renderers, suffix):
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except Exception as exc:  # noqa: BLE001 - the refusal is part of the answer
        return type(exc).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("renderers", RENDERER_LISTS, ids=lambda r: "+".join(x.format for x in r))
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?format=csv", "?format="])
@pytest.mark.parametrize("suffix", [None, "json", "csv"])
def test_same_renderer_and_media_type_as_drf(renderers, accept, query, suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/trades/{query}", **headers))
    ours = _outcome(ContentNegotiation(), request, renderers, suffix)
    drf = _outcome(DefaultContentNegotiation(), request, renderers, suffix)
    # A format the view does not have: DRF's bare 404, a 400 naming ``format`` here.
    assert ours == ("ValidationError" if drf == "Http404" else drf)


CSV_VIEW = [JSONRenderer(), BrowsableAPIRenderer(), CSVRenderer()]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json;q=0.1, text/csv", ("CSVRenderer", "text/csv")),
        ("text/csv;q=0.5, application/json;q=0.9", ("JSONRenderer", "application/json;q=0.9")),
        ("text/csv;q=0, */*", ("JSONRenderer", "application/json")),
        ("application/json;q=0, text/*", ("BrowsableAPIRenderer", "text/html")),
        ("text/html;q=0.2, */*;q=0.5", ("JSONRenderer", "application/json;q=0.5")),
        ("*/*;q=0", "NotAcceptable"),
        ("application/json;q=0", "NotAcceptable"),
        ("application/json;q=abc", ("JSONRenderer", "application/json;q=abc")),
        ("text/csv;q=7", ("CSVRenderer", "text/csv;q=7")),
        # Not RFC 9110 qvalues: read as absent, as DRF reads every q.
        ("application/json;q=-1", ("JSONRenderer", "application/json;q=-1")),
        ("text/csv;q=inf, application/json", ("JSONRenderer", "application/json")),
        ("text/csv;q=0_0", ("CSVRenderer", "text/csv;q=0_0")),
        ("text/csv;q=0.000, application/json", ("JSONRenderer", "application/json")),
    ],
)
def test_quality_values_come_first(accept, expected):
    request = Request(APIRequestFactory().get("/api/trades/", HTTP_ACCEPT=accept))
    assert _outcome(ContentNegotiation(), request, CSV_VIEW, None) == expected


def test_quality_values_over_http(api):
    csv = api.get("/api/trades/", HTTP_ACCEPT="application/json;q=0.1, text/csv")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    refused = api.get("/api/trades/", HTTP_ACCEPT="application/json;q=0")
    assert refused.status_code == 406


def test_an_unknown_format_is_a_400_naming_it_and_the_formats_there_are(api):
    response = api.get("/api/trades/?format=xml")
    assert response.status_code == 400
    assert response.json() == {
        "format": ["'xml' is not a format of this endpoint; use 'json', 'api' or 'csv'."]
    }


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=0, image/png",
        "image/webp;q=0, image/png",
        "text/html;q=0, */*",
        "image/*;q=0, */*",
    ],
)
def test_a_renderer_of_any_type_is_taken_by_the_best_range_it_matches(accept):
    from algo.api.views import FileRenderer

    request = Request(APIRequestFactory().get("/api/backtests/1/plot.png", HTTP_ACCEPT=accept))
    renderer, _ = ContentNegotiation().select_renderer(request, [FileRenderer()])
    assert isinstance(renderer, FileRenderer)


def test_a_file_is_not_refused_for_a_type_the_client_excludes(api):
    response = api.get("/api/backtests/999/plot.png", HTTP_ACCEPT="application/json;q=0, image/png")
    assert response.status_code == 404  # no such run; not a 406


def test_the_formats_named_in_a_refusal_are_each_named_once(api):
    response = api.get("/api/schema/?format=xml")
    assert response.status_code == 400
    # The schema view has two renderers of each format; its answer is YAML, quotes doubled.
    assert b"use ''yaml'' or ''json''." in response.content
