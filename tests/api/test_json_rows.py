"""Rows the database wrote as JSON are sent as DRF's own renderer would send the objects."""

from __future__ import annotations

import json

from rest_framework import renderers

from api.renderers import JSONRenderer, JSONRows

ROWS = [
    {"id": 1, "ticker": 'A"B', "price": "1.5", "note": "line\nbreak"},
    {"id": 2, "ticker": "é", "price": "2", "note": "a\u2028b\u2029c"},
    {"id": 3, "ticker": "X", "price": "3", "note": None},
]


def _texts(rows):
    return [json.dumps(row, separators=(",", ":"), ensure_ascii=False) for row in rows]


def test_rows_as_json_text_are_spliced_into_what_drf_renders_for_the_objects():
    data = {
        "next": "http://x/api/trades/?cursor=a",
        "previous": None,
        "results": JSONRows(_texts(ROWS)),
    }
    stock = renderers.JSONRenderer()
    assert JSONRenderer().render(data) == stock.render({**data, "results": ROWS})
    assert JSONRenderer().render({"results": JSONRows([])}) == stock.render({"results": []})
    only = JSONRenderer().render({"results": JSONRows(_texts(ROWS))})
    assert json.loads(only) == {"results": ROWS}


def test_rows_as_json_text_read_as_objects_and_render_indented_for_the_browsable_api():
    rows = JSONRows(_texts(ROWS))
    assert list(rows) == ROWS and rows[1]["ticker"] == "é" and len(rows) == len(ROWS)
    indented = "application/json; indent=4"
    data = {"next": None, "results": rows}
    assert JSONRenderer().render(data, indented) == renderers.JSONRenderer().render(
        {"next": None, "results": ROWS}, indented
    )


def test_rows_as_json_text_anywhere_but_the_last_key_are_rendered_as_objects():
    data = {"results": JSONRows(_texts(ROWS)), "next": None}
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(
        {"results": ROWS, "next": None}
    )
    assert JSONRows(_texts(ROWS)) == ROWS and JSONRows(_texts(ROWS)) != ROWS[:1]
