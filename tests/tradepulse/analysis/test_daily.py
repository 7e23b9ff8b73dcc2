import io
import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradepulse.analysis import HEADER_LINE, VWAP_PLACES, BadHeader, MalformedRow, analyse

DAY = date(2025, 1, 20)
MIDNIGHT = datetime(2025, 1, 20, tzinfo=UTC)


def loose_timestamp(moment: datetime, style: int) -> str:
    """The same instant written in one of the shapes an export may contain."""
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == 1:
        return moment.isoformat()  # +00:00, fraction only when non-zero
    if style == 2:
        return moment.astimezone(timezone(timedelta(hours=-5))).isoformat()
    return moment.replace(tzinfo=None).isoformat(sep=" ")  # no offset: read as UTC


def random_trades(rng: random.Random, count: int) -> list[dict]:
    tickers = ["AAPL", "MSFT", "BRK.B", "T"][: rng.randint(1, 4)]
    # Few distinct instants, so equal timestamps (ordered by trade id) happen often.
    instants = [
        MIDNIGHT + timedelta(seconds=rng.randint(0, 86399), microseconds=rng.choice([0, 1, 500000]))
        for _ in range(max(2, count // 3))
    ]
    ids = rng.sample(range(1, 40 * count + 2), count)
    return [
        {
            "trade_id": ids[index],
            "ticker": rng.choice(tickers),
            "side": rng.choice(["buy", "sell"]),
            "price": Decimal(rng.randint(1, 10**7)).scaleb(-rng.randint(0, 6)),
            "quantity": Decimal(rng.randint(1, 10**5)).scaleb(-rng.randint(0, 4)),
            "at": rng.choice(instants),
            "style": rng.randint(0, 3),
        }
        for index in range(count)
    ]


def as_csv(trades: list[dict]) -> str:
    rows = [HEADER_LINE]
    for trade in trades:
        rows.append(
            f"{trade['trade_id']},user{trade['trade_id'] % 7},{trade['ticker']},{trade['side']},"
            f"{trade['price']},{trade['quantity']},{loose_timestamp(trade['at'], trade['style'])}"
        )
    return "\r\n".join(rows) + "\r\n"


def expected_figures(trades: list[dict]) -> dict:
    """The analysis recomputed independently: exact fractions, grouping, then sorting."""
    by_ticker = defaultdict(list)
    for trade in trades:
        by_ticker[trade["ticker"]].append(trade)
    tickers = {}
    for ticker, group in by_ticker.items():
        ordered = sorted(group, key=lambda trade: (trade["at"], trade["trade_id"]))
        buys = [t for t in group if t["side"] == "buy"]
        sells = [t for t in group if t["side"] == "sell"]
        quantity = sum(Fraction(t["quantity"]) for t in group)
        notional = sum(Fraction(t["price"]) * Fraction(t["quantity"]) for t in group)
        tickers[ticker] = {
            "trade_count": len(group),
            "buy_quantity": sum((Fraction(t["quantity"]) for t in buys), Fraction(0)),
            "sell_quantity": sum((Fraction(t["quantity"]) for t in sells), Fraction(0)),
            "net_quantity": sum((Fraction(t["quantity"]) for t in buys), Fraction(0))
            - sum((Fraction(t["quantity"]) for t in sells), Fraction(0)),
            "buy_notional": sum((Fraction(t["price"] * t["quantity"]) for t in buys), Fraction(0)),
            "sell_notional": sum(
                (Fraction(t["price"] * t["quantity"]) for t in sells), Fraction(0)
            ),
            "vwap": round(notional / quantity, VWAP_PLACES),
            "first_price": Fraction(ordered[0]["price"]),
            "last_price": Fraction(ordered[-1]["price"]),
            "low_price": min(Fraction(t["price"]) for t in group),
            "high_price": max(Fraction(t["price"]) for t in group),
            "first_timestamp": ordered[0]["at"],
            "last_timestamp": ordered[-1]["at"],
        }
    return tickers


def as_fractions(figures: dict) -> dict:
    converted = {}
    for name, value in figures.items():
        if name.endswith("_timestamp"):
            converted[name] = datetime.fromisoformat(value)
        elif isinstance(value, str):
            converted[name] = Fraction(value)
        else:
            converted[name] = value
    return converted


@pytest.mark.parametrize("seed", range(12))
def test_analysis_matches_an_independent_exact_computation(seed):
    rng = random.Random(seed)
    trades = random_trades(rng, rng.randint(1, 400))

    result = analyse(io.StringIO(as_csv(trades), newline=""), DAY)

    expected = expected_figures(trades)
    assert result["date"] == "2025-01-20"
    assert result["row_count"] == len(trades)
    assert list(result["tickers"]) == sorted(expected)
    for ticker, figures in result["tickers"].items():
        assert as_fractions(figures) == expected[ticker], ticker

    totals = result["totals"]
    assert totals["trade_count"] == len(trades)
    assert totals["ticker_count"] == len(expected)
    for name in ("buy_quantity", "sell_quantity", "buy_notional", "sell_notional"):
        assert Fraction(totals[name]) == sum(figures[name] for figures in expected.values())
    assert Fraction(totals["net_quantity"]) == Fraction(totals["buy_quantity"]) - Fraction(
        totals["sell_quantity"]
    )


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=30))
def test_analysis_matches_for_generated_trades(rng, count):
    trades = random_trades(rng, count)
    result = analyse(as_csv(trades).splitlines(keepends=True), DAY)
    expected = expected_figures(trades)
    assert set(result["tickers"]) == set(expected)
    for ticker, figures in result["tickers"].items():
        assert as_fractions(figures) == expected[ticker]


def test_small_day_by_hand():
    lines = [
        HEADER_LINE,
        "10,alice,AAPL,buy,100.10,3,2025-01-20T10:00:00Z",
        "9,bob,AAPL,sell,100.20,1,2025-01-20T10:00:00+00:00",
        "11,alice,AAPL,buy,99.90,2,2025-01-20T09:00:00.5Z",
        "12,carol,MSFT,sell,0.1,3,2025-01-20T12:00:00Z",
    ]

    result = analyse(lines, DAY)

    assert result["tickers"]["AAPL"] == {
        "trade_count": 3,
        "buy_quantity": "5",
        "sell_quantity": "1",
        "net_quantity": "4",
        "buy_notional": "500.1",
        "sell_notional": "100.2",
        "vwap": "100.05",
        "first_price": "99.9",
        "first_timestamp": "2025-01-20T09:00:00.500000Z",
        # Trades 9 and 10 share the last instant; 10 is later by numeric id.
        "last_price": "100.1",
        "last_timestamp": "2025-01-20T10:00:00.000000Z",
        "low_price": "99.9",
        "high_price": "100.2",
    }
    # 0.1 x 3 is exactly 0.3 (a float sum gives 0.30000000000000004).
    assert result["tickers"]["MSFT"]["sell_notional"] == "0.3"
    assert result["totals"] == {
        "trade_count": 4,
        "ticker_count": 2,
        "buy_quantity": "5",
        "sell_quantity": "4",
        "net_quantity": "1",
        "buy_notional": "500.1",
        "sell_notional": "100.5",
    }
    assert json.loads(json.dumps(result)) == result


def test_header_only_file_gives_empty_figures():
    result = analyse([HEADER_LINE + "\n"], "2025-01-20")
    assert result["row_count"] == 0
    assert result["tickers"] == {}
    assert result["totals"]["buy_notional"] == "0"
    assert result["totals"]["ticker_count"] == 0


BAD_VALUES = {
    "side": ["BUY", "hold", ""],
    "price": ["0", "-3.5", "abc", "NaN", "Infinity", "", "1e"],
    "quantity": ["0", "-1", "sNaN", "-Infinity", ""],
    "timestamp": ["2025-01-20", "noon", "2025-13-01T00:00:00Z", ""],
    "trade_id": [""],
    "user": [""],
    "ticker": [""],
}
COLUMNS = ["trade_id", "user", "ticker", "side", "price", "quantity", "timestamp"]


@pytest.mark.parametrize("seed", range(40))
def test_a_corrupted_field_is_reported_at_its_line(seed):
    rng = random.Random(1000 + seed)
    trades = random_trades(rng, rng.randint(1, 50))
    lines = as_csv(trades).splitlines(keepends=True)
    victim = rng.randint(1, len(lines) - 1)
    field = rng.choice(list(BAD_VALUES))
    values = lines[victim].rstrip("\r\n").split(",")
    values[COLUMNS.index(field)] = rng.choice(BAD_VALUES[field])
    lines[victim] = ",".join(values) + "\r\n"

    with pytest.raises(MalformedRow) as caught:
        analyse(lines, DAY)

    assert caught.value.line_number == victim + 1
    assert caught.value.field == field


def test_a_row_with_a_missing_field_is_reported_at_its_line():
    lines = [HEADER_LINE, "1,a,AAPL,buy,1,1,2025-01-20T00:00:00Z", "2,a,AAPL,buy,1,1"]
    with pytest.raises(MalformedRow, match="line 3: expected 7 fields, found 6"):
        analyse(lines, DAY)


def test_wrong_header_is_rejected_before_any_row():
    with pytest.raises(BadHeader, match="found 'trade_id,user,ticker,side,price,qty,timestamp'"):
        analyse(["trade_id,user,ticker,side,price,qty,timestamp"], DAY)


def test_a_number_too_long_to_keep_exactly_is_a_malformed_row():
    huge = "1." + "1" * 80
    lines = [HEADER_LINE, f"1,a,AAPL,buy,{huge},{huge},2025-01-20T00:00:00Z"]
    with pytest.raises(MalformedRow, match="line 2: .*more digits"):
        analyse(lines, DAY)
