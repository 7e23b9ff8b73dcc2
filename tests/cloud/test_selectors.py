from datetime import date

import pytest
from django.db import connection

from cloud.selectors import day_csv_blocks, day_trade_count, trade_days
from tests.cloud.conftest import expected_csv

DAY = date(2025, 1, 20)


def csv_of(day, **kw) -> tuple[bytes, int]:
    blocks = list(day_csv_blocks(day, **kw))
    return b"".join(data for data, _ in blocks), sum(rows for _, rows in blocks)


def test_day_csv_has_the_header_and_the_day_rows_in_timestamp_then_id_order(day_trades):
    body, rows = csv_of(DAY)

    assert body == expected_csv(day_trades)
    assert rows == 5


def test_day_boundaries_are_utc_midnight_inclusive_start_exclusive_end(day_trades):
    assert day_trade_count(DAY) == 5
    assert day_trade_count(date(2025, 1, 19)) == 1
    assert day_trade_count(date(2025, 1, 21)) == 1


def test_orm_method_gives_the_same_bytes_on_every_database(day_trades):
    assert csv_of(DAY, method="orm")[0] == expected_csv(day_trades)


def test_day_without_trades_is_only_the_header(db):
    assert csv_of(DAY) == (b"trade_id,user,ticker,side,price,quantity,timestamp\n", 0)


def test_trade_days_lists_each_utc_day_once_in_order(day_trades):
    assert trade_days() == [date(2025, 1, 19), DAY, date(2025, 1, 21)]
    assert trade_days(DAY, DAY) == [DAY]
    assert trade_days(date(2025, 1, 20), date(2025, 1, 30)) == [DAY, date(2025, 1, 21)]
    assert trade_days(date(2025, 2, 1)) == []


def test_large_orm_export_comes_in_several_blocks(user, make_trade):
    from ledger.models import Trade

    trade = make_trade(user, "AAPL", "buy", "1.5", "2", "2025-01-20T10:00:00+00:00")
    Trade.objects.bulk_create(
        [
            Trade(
                owner=user,
                ticker="AAPL",
                side="buy",
                price="1.5",
                quantity="2",
                timestamp=trade.timestamp,
            )
            for _ in range(12_000)
        ]
    )

    blocks = list(day_csv_blocks(DAY, method="orm"))

    assert len(blocks) > 3
    assert sum(rows for _, rows in blocks) == 12_001
    assert all(data.count(b"\n") == rows for data, rows in blocks[1:])


@pytest.mark.postgres
def test_copy_method_is_used_on_postgresql_and_matches_the_orm_bytes(day_trades):
    assert connection.vendor == "postgresql"
    copy_body, copy_rows = csv_of(DAY, method="copy")
    orm_body, orm_rows = csv_of(DAY, method="orm")

    assert copy_body == orm_body == expected_csv(day_trades)
    assert copy_rows == orm_rows == 5


@pytest.mark.postgres
def test_copy_formats_decimals_and_timestamps_like_the_python_formatter(user, make_trade):
    import random

    from ledger.models import Trade

    rng = random.Random(3)
    trades = [
        Trade(
            owner=user,
            ticker="X",
            side=rng.choice(["buy", "sell"]),
            price=f"{rng.randint(1, 10**11)}.{rng.randint(0, 10**8 - 1):08d}",
            quantity=rng.choice(["1", "100", "0.1", "12345.6789", "0.00000001", "99999999999"]),
            timestamp=f"2025-01-20T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.choice([0, 1, 500000, rng.randint(0, 999999)]):06d}+00:00",
        )
        for _ in range(2000)
    ]
    Trade.objects.bulk_create(trades)

    assert csv_of(DAY, method="copy") == csv_of(DAY, method="orm")


@pytest.mark.postgres
def test_copy_works_with_the_debug_cursor(day_trades, settings):
    # DEBUG=True (the embedded default) wraps cursors in Django's debug cursor.
    settings.DEBUG = True

    assert csv_of(DAY, method="copy")[0] == expected_csv(day_trades)


@pytest.mark.parametrize(
    "method", ["orm", pytest.param("copy", marks=pytest.mark.postgres)], ids=["orm", "copy"]
)
def test_export_escapes_user_names_and_tickers_a_spreadsheet_would_run(
    method, make_user, make_trade
):
    names = ["+1+1", "@SUM", "-2+3", "-5", "plain"]
    at = "2025-01-20T10:00:00+00:00"
    ids = [make_trade(make_user(name), "AAPL", "buy", "1", "2", at).id for name in names]
    ids.append(make_trade(make_user("carol"), "=1+1", "sell", "3", "4", at).id)

    body, _ = csv_of(DAY, method=method)

    assert body.decode().splitlines()[1:] == [
        f"{ids[0]},'+1+1,AAPL,buy,1,2,2025-01-20T10:00:00.000000Z",
        f"{ids[1]},'@SUM,AAPL,buy,1,2,2025-01-20T10:00:00.000000Z",
        f"{ids[2]},'-2+3,AAPL,buy,1,2,2025-01-20T10:00:00.000000Z",
        # A plain number is a number, not a formula: left as it is.
        f"{ids[3]},-5,AAPL,buy,1,2,2025-01-20T10:00:00.000000Z",
        f"{ids[4]},plain,AAPL,buy,1,2,2025-01-20T10:00:00.000000Z",
        f"{ids[5]},carol,'=1+1,sell,3,4,2025-01-20T10:00:00.000000Z",
    ]
