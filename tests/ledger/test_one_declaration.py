"""A trade's shape is declared once. Adding a field to ``Trade`` takes three edits: the model
field (and its migration), its name in ``TradeSerializer.Meta.fields`` (with a declared field
when it is a decimal or a timestamp), and, when clients may set it, its rule in
``tradepulse.trades.clean_trade``. Everything below derives from those and is checked here.

The daily export file is a format of its own, read by the analysis Lambda: its columns are
``tradepulse.analysis.HEADER``, each the ``Trade`` field of that name (``trade_id`` is the id,
``user`` the owner's user name), written by the same per-kind formatting."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from rest_framework import renderers

from ledger.api.serializers import TradeSerializer
from ledger.models import Trade
from ledger.representation import (
    DECIMAL_FIELDS,
    FIELDS,
    TEXT_FIELDS,
    TIMESTAMP_FIELDS,
    trade_row,
    wire_select_sql,
    wire_values,
)
from ledger.selectors import trade_rows
from ledger.services import COPY_COLUMNS
from tests.ledger.helpers import add_trade


def test_every_trade_column_list_derives_from_the_serializer_and_the_model():
    declared = TradeSerializer.Meta.fields
    assert tuple(declared) == FIELDS
    assert DECIMAL_FIELDS == ("price", "quantity")
    assert TIMESTAMP_FIELDS == ("timestamp", "created_at", "updated_at")
    assert sorted(TEXT_FIELDS) == ["side", "source", "ticker"]
    _, keys = wire_select_sql(lambda name: f'"{name}"')
    assert [key.removesuffix("_text") for key in keys] == list(declared)
    assert tuple(field.column for field in Trade._meta.concrete_fields) == COPY_COLUMNS


def test_fast_paths_render_exactly_what_the_serializer_renders(api):
    trade = add_trade(api.user, price="187.25", quantity="0.00000001")
    add_trade(api.user, price="999999999999.99999999", timestamp="2025-01-20T10:00:00.5+01:00")
    declared = {
        row["id"]: dict(row) for row in TradeSerializer(Trade.objects.all(), many=True).data
    }

    assert trade_row(trade) == declared[trade.pk]
    assert {row["id"]: trade_row(row) for row in wire_values(Trade.objects.all())} == declared
    assert {row["id"]: trade_row(row) for row in trade_rows(Trade.objects.all())} == declared

    listed = api.get("/api/trades/").data["results"]
    assert {row["id"]: row for row in listed} == declared
    assert api.get(f"/api/trades/{trade.pk}/").data == declared[trade.pk]

    download = api.get("/api/trades/", HTTP_ACCEPT="text/csv")
    reader = csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode()))
    assert tuple(reader.fieldnames) == tuple(TradeSerializer.Meta.fields)
    assert {int(row["id"]): row for row in reader} == {
        pk: {k: str(v) for k, v in row.items()} for pk, row in declared.items()
    }


@pytest.mark.postgres
def test_the_page_query_renders_what_the_serializer_renders(api):
    from ledger.selectors import trade_page

    add_trade(api.user, price="0.1", timestamp="2025-01-20T10:00:00Z")
    add_trade(api.user, price="10", timestamp="0001-01-01T00:00:00.000001Z")
    declared = {
        row["id"]: dict(row) for row in TradeSerializer(Trade.objects.all(), many=True).data
    }
    rows = trade_page(owner=api.user, lookups={}, after=None, reverse=False, limit=10)
    assert {json.loads(row)["id"]: json.loads(row) for row in rows} == declared
    assert connection.vendor == "postgresql"

    # The page the API sends is, byte for byte, what DRF's own JSON renderer makes of the
    # serializer's output (the database writes the rows; api.renderers splices them in).
    newest_first = Trade.objects.order_by("-timestamp", "-id")
    expected = renderers.JSONRenderer().render(
        {"next": None, "previous": None, "results": TradeSerializer(newest_first, many=True).data}
    )
    response = api.get("/api/trades/")
    assert response["Content-Type"] == "application/json"
    assert response.content == expected
    assert response.data["results"][0]["price"] == "0.1"
    browsable = api.get("/api/trades/", HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200
    assert "&quot;price&quot;: &quot;0.1&quot;" in browsable.content.decode()


def test_the_export_columns_are_the_analysis_header_on_trade_fields():
    from cloud.selectors import column_field, export_lookups
    from tradepulse.analysis import HEADER

    assert export_lookups() == [
        "id",
        "owner__username",
        "ticker",
        "side",
        "price",
        "quantity",
        "timestamp",
    ]
    names = {field.name for field in Trade._meta.concrete_fields}
    assert {column_field(column) for column in HEADER} <= names
