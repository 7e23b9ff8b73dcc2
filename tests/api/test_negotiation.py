"""The API's content negotiation answers as DRF's own does, whatever the request asks for."""

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
    assert ours == drf
