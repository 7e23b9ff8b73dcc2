"""A page's next and previous links keep every query parameter but the cursor, as DRF's own
``replace_query_param`` writes them."""

from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.utils.urls import replace_query_param

from api.pagination import KeysetPagination


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?ticker=AAPL&cursor=old&page_size=5",
        "?b=2&a=1&a=0&cursor=x&cursor=y&empty=",
        "?t=%C3%A9&x=a+b&y=%2F",
        # Parameters sorting before and after "cursor", and none on one side.
        "?d=1&c=2&cursorx=3&curso=4&cursor=z&Cursor=5",
        "?zeta=1&cursor=q",
        "?a=1",
    ],
)
def test_links_replace_only_the_cursor(query):
    request = Request(APIRequestFactory().get("/api/trades/" + query))
    paginator = KeysetPagination()
    paginator.request, paginator._url = request, None  # what paginate() sets for a page
    for token in ("abc", "ZZ-_", "a b/+&="):
        expected = replace_query_param(request.build_absolute_uri(), "cursor", token)
        assert paginator._link(token) == expected
