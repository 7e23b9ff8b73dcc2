import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tradepulse.analysis import (
    HEADER,
    HEADER_LINE,
    BadHeader,
    MalformedRow,
    format_decimal,
    format_row,
    format_timestamp,
    iter_trades,
    parse_timestamp,
)

GOOD_ROW = "7,alice,AAPL,buy,187.25,10,2025-01-20T14:30:00.123456Z"


def csv_lines(*rows: str) -> list[str]:
    return [line + "\n" for line in (HEADER_LINE, *rows)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("187.2500"), "187.25"),
        (Decimal("1.5E+2"), "150"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("100"), "100"),
        (Decimal("-0.000"), "0"),
        (Decimal("-12.30"), "-12.3"),
        (10, "10"),
        ("0.10", "0.1"),
    ],
)
def test_format_decimal_writes_plain_notation_without_trailing_zeros(value, expected):
    assert format_decimal(value) == expected


def test_format_timestamp_writes_utc_with_microseconds_and_z():
    moment = datetime(2025, 1, 20, 16, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2025-01-20T14:30:00.123456Z"
    assert format_timestamp(datetime(2025, 1, 20, 14, 30)) == "2025-01-20T14:30:00.000000Z"


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-20T14:30:00Z",
        "2025-01-20T14:30:00+00:00",
        "2025-01-20T14:30:00.000Z",
        "2025-01-20 14:30:00",
        "2025-01-20T16:30:00+02:00",
    ],
)
def test_parse_timestamp_reads_loose_iso_8601_as_utc(text):
    assert parse_timestamp(text) == datetime(2025, 1, 20, 14, 30, tzinfo=UTC)
    assert parse_timestamp(text).utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2025-01-20", "yesterday", "", "2025-01-20T25:00:00Z"])
def test_parse_timestamp_rejects_anything_but_a_date_and_time(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_row_round_trips_through_the_parser():
    moment = datetime(2025, 1, 20, 14, 30, 0, 5, tzinfo=UTC)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerow(format_row(42, "o'neil, jr", "BRK.B", "SELL", Decimal("412.50"), 3, moment))
    buffer.seek(0)

    (trade,) = iter_trades(buffer)

    assert buffer.getvalue().splitlines()[1] == (
        '42,"o\'neil, jr",BRK.B,sell,412.5,3,2025-01-20T14:30:00.000005Z'
    )
    assert trade.trade_id == "42"
    assert trade.user == "o'neil, jr"
    assert trade.side == "sell"
    assert trade.price == Decimal("412.5")
    assert trade.quantity == Decimal(3)
    assert trade.timestamp == moment


def test_format_row_rejects_an_unknown_side():
    with pytest.raises(ValueError, match="side"):
        format_row(1, "bob", "AAPL", "hold", Decimal(1), Decimal(1), datetime.now(UTC))


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("7,alice,AAPL,BUY,187.25,10,2025-01-20T14:30:00Z", "side", "'buy' or 'sell'"),
        ("7,alice,AAPL,buy,0,10,2025-01-20T14:30:00Z", "price", "greater than 0"),
        ("7,alice,AAPL,buy,-1,10,2025-01-20T14:30:00Z", "price", "greater than 0"),
        ("7,alice,AAPL,buy,abc,10,2025-01-20T14:30:00Z", "price", "not a decimal"),
        ("7,alice,AAPL,buy,NaN,10,2025-01-20T14:30:00Z", "price", "not a decimal"),
        ("7,alice,AAPL,buy,187.25,Infinity,2025-01-20T14:30:00Z", "quantity", "greater than 0"),
        ("7,alice,AAPL,buy,187.25,,2025-01-20T14:30:00Z", "quantity", "not a decimal"),
        ("7,alice,AAPL,buy,187.25,10,2025-01-20", "timestamp", "ISO 8601"),
        ("7,alice,AAPL,buy,187.25,10,noon", "timestamp", "ISO 8601"),
        ("7,alice,,buy,187.25,10,2025-01-20T14:30:00Z", "ticker", "empty"),
        (",alice,AAPL,buy,187.25,10,2025-01-20T14:30:00Z", "trade_id", "empty"),
        ("7,alice,AAPL,buy,187.25,10", None, "expected 7 fields, found 6"),
        (GOOD_ROW + ",extra", None, "expected 7 fields, found 8"),
    ],
)
def test_malformed_row_names_the_file_line_and_field(row, field, reason):
    # Line 1 is the header, line 2 a good row, line 3 blank (skipped), line 4 the bad row.
    lines = csv_lines(GOOD_ROW, "", row)

    with pytest.raises(MalformedRow) as caught:
        list(iter_trades(lines))

    assert caught.value.line_number == 4
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value).startswith("line 4")


def test_wrong_header_is_reported_with_what_was_found():
    with pytest.raises(BadHeader) as caught:
        list(iter_trades(["id,user,ticker,side,price,quantity,timestamp\n", GOOD_ROW + "\n"]))

    assert caught.value.line_number == 1
    assert caught.value.field == "header"
    assert "found 'id,user,ticker" in str(caught.value)


def test_empty_file_is_a_bad_header():
    with pytest.raises(BadHeader, match="empty"):
        list(iter_trades([]))


def test_header_with_byte_order_mark_is_accepted():
    trades = list(iter_trades(["\ufeff" + HEADER_LINE + "\r\n", GOOD_ROW + "\r\n"]))
    assert [trade.trade_id for trade in trades] == ["7"]
