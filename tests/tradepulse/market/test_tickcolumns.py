"""The column reader takes the files the row reader takes, with the same values, and leaves
every other file to the row reader (which names the bad line)."""

import numpy as np
import pytest

from tradepulse.alerts.cli import main
from tradepulse.alerts.timebase import to_micros
from tradepulse.market import TickFileError, read_tick_csv
from tradepulse.market.tickcolumns import read_tick_columns

GOOD = (
    "Price, Ticker ,TIMESTAMP,volume,note\r\n"
    "100.5,aapl,2025-01-20T14:30:00Z,10,x\r\n"
    "400,MSFT ,2025-01-20T14:30:00.2+00:00,,y\r\n"
    "101.25,AAPL,2025-01-20 15:30:00.123456+01:00,5.5,z\r\n"
    "\r\n"
    "0.5,brk.b,2025-01-20T14:31Z,0,\r\n"
)


def _write(tmp_path, text, name="ticks.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def _as_rows(columns):
    return [
        (
            columns.tickers[code],
            price,
            when,
            None if np.isnan(volume) else volume,
        )
        for code, price, when, volume in zip(
            columns.ticker_code.tolist(),
            columns.price.tolist(),
            columns.t_us.tolist(),
            columns.volume.tolist(),
            strict=True,
        )
    ]


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,1\nAAPL,2025-01-20T14:30:00.5,2\n",
        "timestamp,price,ticker\n2025-01-20,1e2,^GSPC\n2025-01-21T09,99.5,EURUSD=X\n",
    ],
)
def test_columns_hold_the_values_the_row_reader_reads(tmp_path, text):
    path = _write(tmp_path, text)
    expected = [
        (tick.ticker, tick.price, to_micros(tick.timestamp), tick.volume)
        for tick in read_tick_csv(path)
    ]
    columns = read_tick_columns(path)
    assert columns is not None
    assert _as_rows(columns) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,1\nAAPL,2025-01-20T14:31:00,abc\n",
        "ticker,timestamp,price\nAAPL,not-a-time,1\n",
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,-4\n",
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,nan\n",
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00\n",
        "ticker,timestamp,price,volume\nAAPL,2025-01-20T14:30:00,1,-1\n",
        "ticker,timestamp,price,volume\nAAPL,2025-01-20T14:30:00,1,\nAAPL,2025-01-20T14:30:01,1,nan\n",
        "ticker,timestamp,price\nAA PL,2025-01-20T14:30:00,1\n",
        "ticker,timestamp,price\n,2025-01-20T14:30:00,1\n",
        "ticker,time,price\nAAPL,2025-01-20T14:30:00,1\n",
        "",
    ],
)
def test_a_bad_file_is_left_to_the_row_reader(tmp_path, text):
    path = _write(tmp_path, text)
    assert read_tick_columns(path) is None
    with pytest.raises(TickFileError):
        list(read_tick_csv(path))


@pytest.mark.parametrize(
    "text",
    [
        # Offsets on some rows only; more than six fraction digits; a basic-format time.
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00Z,1\nAAPL,2025-01-20T14:30:01,2\n",
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00.1234567Z,1\n",
        "ticker,timestamp,price\nAAPL,20250120T143000Z,1\n",
        '"ticker","timestamp","price"\nAAPL,2025-01-20T14:30:00Z,1\n',
    ],
)
def test_forms_only_the_row_reader_takes_still_scan(tmp_path, text, capsys):
    path = _write(tmp_path, text)
    assert read_tick_columns(path) is None
    assert main(["scan", str(path)]) == 0
    assert capsys.readouterr().err.startswith(f"{len(list(read_tick_csv(path)))} ticks")


def test_scan_prints_what_the_row_path_prints(tmp_path, capsys):
    rng = np.random.default_rng(3)
    lines = ["ticker,timestamp,price"]
    t = 1_737_383_400.0
    prices = {"AAPL": 100.0, "msft": 400.0}
    for i in range(4_000):
        name = "AAPL" if i % 3 else "msft"
        t += float(rng.uniform(0.0, 0.6))
        prices[name] = round(prices[name] * float(np.exp(rng.normal(0, 0.006))), 3)
        stamp = np.datetime64(int(t * 1e6), "us").astype(str)
        # Now and then a late tick, which both paths skip.
        if i % 97 == 0:
            stamp = np.datetime64(int((t - 5) * 1e6), "us").astype(str)
        lines.append(f"{name},{stamp}Z,{prices[name]}")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert read_tick_columns(path) is not None
    assert main(["scan", str(path), "--threshold", "1", "--window", "20"]) == 0
    fast = capsys.readouterr()
    from tradepulse.alerts import cli

    assert cli._scan_rows(str(path), 0.01, 20.0) == 0
    rows = capsys.readouterr()
    assert fast.out.count("\n") > 5
    assert fast.out == rows.out
    assert fast.err == rows.err
    assert "out-of-order ticks skipped" in fast.err
