"""Every price and quantity the API accepts comes back digit for digit, on SQLite and on
PostgreSQL, through every way out: the trade, PATCH, the list, the CSV download, positions and
the daily export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from ledger.models import Trade

DAY = "2025-01-20"
# The edges of the accepted range (> 0, < 10^12, at most 8 decimal places) and values a float
# cannot hold.
EDGES = [
    "0.00000001",
    "0.1",
    "1",
    "0.99999999",
    "123456789.12345678",
    "99999999999.99999999",
    "100000000000.00000001",
    "999999999999",
    "999999999999.99999999",
]


def _csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize("field", ["price", "quantity"])
def test_every_accepted_decimal_round_trips_exactly(api, field, tmp_path, settings):
    other = "quantity" if field == "price" else "price"
    ids = {}
    for index, value in enumerate(EDGES):
        created = api.post(
            "/api/trades/",
            {
                "ticker": f"E{index}",
                "side": "buy",
                field: value,
                other: "1",
                "timestamp": f"{DAY}T10:00:{index:02d}Z",
            },
            format="json",
        )
        assert created.status_code == 201, created.data
        assert created.data[field] == value
        ids[value] = created.data["id"]
        assert Trade.objects.get(pk=ids[value]).__dict__[field] == Decimal(value)

    for value, pk in ids.items():
        assert api.get(f"/api/trades/{pk}/").data[field] == value

    listed = api.get("/api/trades/", {"page_size": 100}).data["results"]
    assert {row["id"]: row[field] for row in listed} == {pk: v for v, pk in ids.items()}

    downloaded = _csv_rows(api.get("/api/trades/", HTTP_ACCEPT="text/csv"))
    assert {int(row["id"]): row[field] for row in downloaded} == {pk: v for v, pk in ids.items()}

    positions = api.get("/api/positions/").data
    by_ticker = {row["ticker"]: row for row in positions["results"]}
    for index, value in enumerate(EDGES):
        row = by_ticker[f"E{index}"]
        if field == "quantity":
            assert row["quantity"] == value
        else:
            assert Decimal(row["last_price"]) == Decimal(value)

    folder = tmp_path / "exports"
    settings.TRADES_EXPORT_URL = folder.as_uri()
    call_command("export_trades", f"--date={DAY}", stdout=StringIO(), stderr=StringIO())
    with open(folder / "2025/01/20/trades.csv", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert {int(row["trade_id"]): row[field] for row in rows} == {pk: v for v, pk in ids.items()}

    # PATCH each trade to the value at the other end of the list.
    for value, replacement in zip(EDGES, reversed(EDGES), strict=True):
        patched = api.patch(f"/api/trades/{ids[value]}/", {field: replacement}, format="json")
        assert patched.status_code == 200, patched.data
        assert patched.data[field] == replacement
        assert api.get(f"/api/trades/{ids[value]}/").data[field] == replacement


def test_bulk_create_round_trips_every_edge(api):
    items = [
        {"ticker": "AAPL", "side": "sell", "price": value, "quantity": value} for value in EDGES
    ]
    response = api.post("/api/trades/bulk/", items, format="json")
    assert response.status_code == 201, response.data
    stored = {
        pk: (price, quantity)
        for pk, price, quantity in Trade.objects.values_list("id", "price", "quantity")
    }
    assert [stored[pk] for pk in response.data["ids"]] == [(Decimal(v), Decimal(v)) for v in EDGES]


def test_decimals_compare_and_sort_as_numbers(user):
    from tests.ledger.helpers import add_trade

    for value in ["9", "10", "0.5", "999999999999.99999999", "100.00000001"]:
        add_trade(user, price=value)
    prices = list(Trade.objects.order_by("price").values_list("price", flat=True))
    assert prices == sorted(prices)
    assert [str(p.normalize()) for p in prices][:3] == ["0.5", "9", "1E+1"]
    assert Trade.objects.filter(price__gt=Decimal("99.99999999")).count() == 2
    assert Trade.objects.filter(price__lt=10).count() == 2


@pytest.mark.django_db(transaction=True)
def test_migration_rewrites_stored_values_in_the_exact_form(user):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("ledger", "0002_owner_index_from_composites")]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("ledger")
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("ledger", "Trade")
        old.objects.create(
            owner_id=user.pk, ticker="AAPL", side="buy", price=Decimal("187.25"), quantity=10
        )
        old.objects.create(
            owner_id=user.pk, ticker="MSFT", side="sell", price=Decimal("0.00000001"), quantity=1
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    assert sorted(Trade.objects.values_list("ticker", "price", "quantity")) == [
        ("AAPL", Decimal("187.25"), Decimal("10")),
        ("MSFT", Decimal("0.00000001"), Decimal("1")),
    ]
    assert Trade.objects.filter(price__gt=1).count() == 1
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT price FROM ledger_trade ORDER BY price")
            assert [row[0] for row in cursor.fetchall()] == [
                "000000000000.00000001",
                "000000000187.25000000",
            ]
