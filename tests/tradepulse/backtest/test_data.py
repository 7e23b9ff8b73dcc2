from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from tradepulse.backtest import (
    DataError,
    barcolumns,
    bars_from_ticks,
    download,
    from_dataframe,
    load_csv,
    synthetic_bars,
)
from tradepulse.backtest import data as data_module

YAHOO_CSV = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700
2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500
2024-01-04,182.15,183.09,180.88,181.91,181.22,71983600
2024-01-05,181.99,182.76,180.17,181.18,180.49,62303300
"""


def _write(tmp_path, text, name="bars.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loads_yahoo_daily_export(tmp_path):
    bars = load_csv(_write(tmp_path, YAHOO_CSV))
    assert list(bars.columns) == ["Open", "High", "Low", "Close", "Volume", "Adj Close"]
    assert str(bars.index.tz) == "UTC"
    assert bars.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert bars["Close"].tolist() == [185.64, 184.25, 181.91, 181.18]
    assert bars["Volume"].iloc[0] == 82488700


def test_column_names_match_in_any_case_and_volume_is_optional(tmp_path):
    text = "DATETIME,close,OPEN,low,High\n2024-01-02 14:30:00-05:00,10,9,8,11\n2024-01-02 15:30:00-05:00,11,10,9,12\n"
    bars = load_csv(_write(tmp_path, text))
    assert bars.index[0] == pd.Timestamp("2024-01-02 19:30", tz="UTC")  # converted to UTC
    assert bars["Open"].tolist() == [9.0, 10.0]
    assert bars["Volume"].tolist() == [0.0, 0.0]


def test_adjusted_prices_scale_by_adj_close(tmp_path):
    bars = load_csv(_write(tmp_path, YAHOO_CSV), adjusted=True)
    assert bars["Close"].iloc[0] == pytest.approx(184.94)
    assert bars["Open"].iloc[0] == pytest.approx(187.15 * 184.94 / 185.64)


def test_reads_the_three_line_header_yfinance_writes(tmp_path):
    text = (
        "Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDate,,,,,\n"
        "2024-01-02,185.64,188.44,183.89,187.15,82488700\n"
        "2024-01-03,184.25,185.88,183.43,184.22,58414500\n"
    )
    bars = load_csv(_write(tmp_path, text))
    assert bars["Open"].tolist() == [187.15, 184.22]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Date,Open,High,Low\n2024-01-02,1,2,0.5\n", "missing column: Close"),
        ("Open,High,Low,Close\n1,2,0.5,1\n", "missing column: Date"),
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0.5,\n",
            r"row 2 \(line 3\) dated 2024-01-03T00:00:00\+00:00: Close is missing",
        ),
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,null,2,0.5,1\n",
            "row 2 .*: Open is missing",
        ),
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,abc\n",
            r"row 1 .*: Close is not a number \('abc'\)",
        ),
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0,1\n",
            r"row 2 .*: Low is not positive \(0\)",
        ),
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,-1,2,0.5,1\n",
            "row 2 .*: Open is not positive",
        ),
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-02,1,2,0.5,1\n",
            r"row 2 \(line 3\) dated 2024-01-02.*: duplicate date \(same as row 1\)",
        ),
        (
            "Date,Open,High,Low,Close\n2024-01-03,1,2,0.5,1\n2024-01-02,1,2,0.5,1\n",
            r"row 2 .*dated 2024-01-02.*: dates are not in ascending order",
        ),
        (
            "Date,Open,High,Low,Close\nyesterday,1,2,0.5,1\n",
            r"row 1 .*: Date 'yesterday' is not a date",
        ),
        ("Date,Open,High,Low,Close\n2024-01-02,1,0.5,2,1\n", r"High \(0.5\) is below Low \(2\)"),
        ("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1,-5\n", "Volume is negative"),
        ("Date,Open,High,Low,Close\n", "no bars"),
        ("", "the file is empty"),
    ],
)
def test_bad_csv_raises_a_data_error_naming_problem_and_row(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_csv(_write(tmp_path, text))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "absent.csv")


def test_dataframe_with_datetime_index_is_normalised_to_utc():
    index = pd.date_range("2024-03-01 09:30", periods=3, freq="h", tz="America/New_York")
    frame = pd.DataFrame(
        {"open": [1.0, 2, 3], "high": [2.0, 3, 4], "low": [0.5, 1, 2], "close": [1.5, 2.5, 3.5]},
        index=index,
    )
    bars = from_dataframe(frame)
    assert bars.index[0] == pd.Timestamp("2024-03-01 14:30", tz="UTC")
    assert bars["Close"].tolist() == [1.5, 2.5, 3.5]


def test_dataframe_with_nan_names_the_row():
    frame = synthetic_bars(10)
    frame.iloc[4, frame.columns.get_loc("High")] = np.nan
    with pytest.raises(DataError, match=r"row 5 dated 2000-01-07.*: High is missing"):
        from_dataframe(frame)


def test_synthetic_bars_are_reproducible_and_valid():
    a = synthetic_bars(5000, seed=42)
    b = synthetic_bars(5000, seed=42)
    c = synthetic_bars(5000, seed=43)
    pd.testing.assert_frame_equal(a, b)
    assert not a["Close"].equals(c["Close"])
    from_dataframe(a)  # passes validation
    assert (a["High"] >= a[["Open", "Close"]].max(axis=1)).all()
    assert (a["Low"] <= a[["Open", "Close"]].min(axis=1)).all()


def test_synthetic_bars_refuse_dates_past_pandas_range():
    with pytest.raises(DataError, match="shorter --freq"):
        synthetic_bars(1_000_000, freq="1D")
    assert len(synthetic_bars(1000, freq="1min")) == 1000


@dataclass
class Tick:
    ticker: str
    price: float
    timestamp: datetime
    volume: float | None = None


def test_ticks_aggregate_into_aligned_ohlcv_bars():
    t0 = datetime(2024, 5, 1, 14, 0, 5, tzinfo=UTC)
    ticks = [
        Tick("AAPL", 10.0, t0, 100),
        Tick("AAPL", 12.0, t0 + timedelta(seconds=20), None),
        Tick("AAPL", 9.0, t0 + timedelta(seconds=40), 50),
        Tick("AAPL", 11.0, t0 + timedelta(seconds=50), 10),
        # a gap: nothing in 14:01, then one tick in 14:02 given in another time zone
        Tick("AAPL", 13.0, (t0 + timedelta(minutes=2)).astimezone(timezone(timedelta(hours=2)))),
    ]
    bars = bars_from_ticks(list(reversed(ticks)), "1min")
    assert bars.index.tolist() == [
        pd.Timestamp("2024-05-01 14:00", tz="UTC"),
        pd.Timestamp("2024-05-01 14:02", tz="UTC"),
    ]
    assert bars.iloc[0][["Open", "High", "Low", "Close", "Volume"]].tolist() == [10, 12, 9, 11, 160]
    assert bars.iloc[1][["Open", "High", "Low", "Close", "Volume"]].tolist() == [13, 13, 13, 13, 0]


def test_ticks_of_several_tickers_need_a_choice():
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    ticks = [Tick("AAPL", 1.0, t0), Tick("MSFT", 2.0, t0)]
    with pytest.raises(DataError, match="AAPL, MSFT"):
        bars_from_ticks(ticks, timedelta(minutes=5))
    assert bars_from_ticks(ticks, timedelta(minutes=5), ticker="MSFT")["Close"].tolist() == [2.0]


def test_naive_tick_timestamps_are_refused():
    with pytest.raises(DataError, match="naive"):
        bars_from_ticks([Tick("AAPL", 1.0, datetime(2024, 5, 1))], "1min")


def test_download_offline_raises_a_clear_data_error(monkeypatch):
    import yfinance

    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve 'query2.finance.yahoo.com'")

    monkeypatch.setattr(yfinance.Ticker, "history", offline)
    with pytest.raises(
        DataError, match="could not download AAPL from Yahoo Finance: Failed to resolve"
    ):
        download("AAPL")


def test_download_of_nothing_is_a_data_error(monkeypatch):
    import yfinance

    monkeypatch.setattr(yfinance.Ticker, "history", lambda self, **kw: pd.DataFrame())
    with pytest.raises(DataError, match="could not download ZZZZ from Yahoo Finance: no data"):
        download("ZZZZ")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Close", np.inf, "Close is not a number"),
        ("Low", -1.0, "Low is not positive"),
        ("High", 0.01, r"High \(0.01\) is below Low"),
        ("Volume", -3.0, "Volume is negative"),
        ("Close", 1e12, r"Close \(1e\+12\) is not below 1e\+12"),
    ],
)
def test_bad_numbers_are_found_past_the_first_checked_slice(monkeypatch, column, value, message):
    monkeypatch.setattr(barcolumns, "_CHECK_CHUNK", 16)
    frame = synthetic_bars(200, seed=3)
    frame.iloc[150, frame.columns.get_loc(column)] = value
    with pytest.raises(DataError, match=f"row 151 .*{message}"):
        from_dataframe(frame)


def test_dates_out_of_order_are_refused_in_an_already_valid_looking_frame():
    frame = synthetic_bars(50, seed=3)
    from_dataframe(frame)  # validated once: pandas has cached its answers on this index
    swapped = frame.iloc[[*range(20), 21, 20, *range(22, 50)]]
    with pytest.raises(DataError, match="row 22 .*dates are not in ascending order"):
        from_dataframe(swapped)


@pytest.mark.parametrize(
    "text",
    [
        YAHOO_CSV,
        "DATETIME,close,OPEN,low,High\n2024-01-02 14:30:00-05:00,10,9,8,11\n"
        "2024-01-02 20:30:00Z,11,10,9,12\n",
        "\ufeffDate,Open,High,Low,Close,adj_close,Volume,Extra\r\n"
        "2024-01-02T00:00:00,1.5,2.25,1,2,1.9,100,x\r\n\r\n"
        "2024-01-03T00:00:00.5,2,3,1.5,2.5,2.4,0,y\r\n",
        "Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDate,,,,,\n"
        "2024-01-02,185.64,188.44,183.89,187.15,82488700\n",
        # Forms the column reader leaves to the text reader: dates with and without an
        # offset, quoted names, a repeated column.
        "Date,Open,High,Low,Close\n2024-01-02T00:00:00Z,1,2,0.5,1\n2024-01-03,1,2,0.5,1\n",
        '"Date","Open","High","Low","Close"\n2024-01-02,1,2,0.5,1\n',
        "Date,Open,High,Low,Close,Close\n2024-01-02,1,2,0.5,1,7\n",
    ],
)
def test_column_reader_and_text_reader_load_the_same_bars(tmp_path, text):
    path = tmp_path / "bars.csv"
    path.write_bytes(text.encode())
    raw = path.read_bytes()
    by_text = data_module.read_csv_text(raw, path)
    pd.testing.assert_frame_equal(load_csv(path), by_text, check_exact=True)
    columns = data_module._read_columns(raw, path)
    if columns is not None:
        pd.testing.assert_frame_equal(columns, by_text, check_exact=True)


def test_a_large_file_is_read_as_columns(tmp_path):
    bars = synthetic_bars(5_000, seed=3, freq="1min")
    path = tmp_path / "bars.csv"
    bars.to_csv(path, float_format="%.4f")
    raw = path.read_bytes()
    columns = data_module._read_columns(raw, path)
    assert columns is not None
    pd.testing.assert_frame_equal(columns, data_module.read_csv_text(raw, path), check_exact=True)
