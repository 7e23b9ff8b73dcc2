import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tradepulse.backtest import (
    STAT_NAMES,
    MovingAverageCrossover,
    backtest,
    load_csv,
    synthetic_bars,
)

ROOT = Path(__file__).resolve().parents[3]


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tradepulse.backtest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "bars.csv"
    synthetic_bars(800, seed=9).to_csv(path)
    return path


def test_json_output_matches_the_library(csv_file):
    proc = run(
        "--csv",
        str(csv_file),
        "--fast",
        "5",
        "--slow",
        "30",
        "--kind",
        "ema",
        "--allow-short",
        "--commission",
        "0.002",
        "--cash",
        "5000",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data) == list(STAT_NAMES)
    expected = backtest(
        load_csv(csv_file), MovingAverageCrossover(5, 30, "ema", True), cash=5000, commission=0.002
    ).to_json_dict()
    assert data == expected


def test_table_output_lists_every_statistic(csv_file):
    proc = run("--csv", str(csv_file))
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert names == list(STAT_NAMES)


def test_sweep_prints_the_ranked_grid(csv_file):
    proc = run("--csv", str(csv_file), "--sweep", "5:20:5", "10:40:10", "--metric", "return_pct")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["fast", "slow", "return_pct"]
    values = [float(line.split()[2]) for line in lines[1:] if line.split()[2] != "n/a"]
    assert len(lines) - 1 == sum(1 for f in (5, 10, 15, 20) for s in (10, 20, 30, 40) if f < s)
    assert values == sorted(values, reverse=True)


def test_long_sweep_shows_progress_on_stderr_only():
    proc = run("--synthetic", "3000", "--sweep", "5:50:5", "10:100:10", "--top", "3")
    assert proc.returncode == 0, proc.stderr
    assert "sweep:" in proc.stderr and "/75" in proc.stderr
    assert "sweep:" not in proc.stdout
    assert len(proc.stdout.splitlines()) == 5  # header, 3 rows, "... more" line


def test_sweep_json_is_strict_json_even_for_pairs_without_trades():
    proc = run("--synthetic", "300", "--sweep", "2:3:1", "5:290:285", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["metric"] == "sharpe_ratio"
    rows = {(r["fast"], r["slow"]): r for r in data["results"]}
    assert set(rows) == {(2, 5), (3, 5), (2, 290), (3, 290)}
    assert rows[(2, 290)]["trades"] == 0 and rows[(2, 290)]["max_trade_duration"] is None
    assert rows[(2, 5)]["trades"] > 0 and isinstance(rows[(2, 5)]["avg_trade_duration"], float)


def test_synthetic_bars_and_plots(tmp_path):
    png = tmp_path / "out.png"
    proc = run("--synthetic", "500", "--seed", "3", "--plot", str(png), "--json")
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes().startswith(b"\x89PNG")
    html = tmp_path / "grid.html"
    proc = run("--synthetic", "500", "--sweep", "5:10:5", "20:30:10", "--plot", str(html))
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in html.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--synthetic", "500", "--fast", "30", "--slow", "20"],
            "error: fast (30) must be smaller than slow (20)",
        ),
        (["--csv", "/no/such/file.csv"], "error: /no/such/file.csv: no such file"),
        (["--synthetic", "500", "--kind", "wma"], "invalid choice: 'wma'"),
        (["--synthetic", "500", "--sweep", "5:x", "10:20"], "expected whole numbers"),
        (["--synthetic", "10"], "error: 10 bars are too few"),
        (["--synthetic", "500", "--plot", "out.gif"], "error: plot file must end in .png or .html"),
        ([], "one of the arguments --csv --synthetic --ticker is required"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_no_traceback(args, message):
    proc = run(*args)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_bad_csv_row_is_reported_by_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0.5,-1\n")
    proc = run("--csv", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {path}: row 2 (line 3) dated 2024-01-03T00:00:00+00:00: Close is not positive (-1)"
    )


def test_ticker_offline_is_a_clear_error():
    # An unreachable proxy stands in for "no network", whatever the machine has.
    proxy = "http://127.0.0.1:9"
    proc = run(
        "--ticker",
        "AAPL",
        "--period",
        "1mo",
        env={"HTTPS_PROXY": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "http_proxy": proxy},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: could not download AAPL from Yahoo Finance: ")


def test_a_backtest_of_a_csv_file_runs_without_loading_pandas(csv_file):
    # Loading pandas takes longer than reading and backtesting a million bars; the command
    # needs only the file's columns and the figures.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tradepulse.backtest", "--csv", str(csv_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "on 800 bars" in proc.stdout
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "pyarrow.csv" in loaded
    assert not any(name.split(".")[0] == "pandas" for name in loaded)


@pytest.mark.parametrize(
    "seconds", [0, 1, 59.5, 60, 3_600, 86_399, 86_400, 90_061.25, 40 * 86_400 + 7, 0.000001]
)
def test_durations_are_printed_as_pandas_prints_them(seconds):
    import pandas as pd

    from tradepulse.backtest.cli import _display

    value = timedelta(seconds=seconds)
    assert _display("duration", value) == str(pd.Timedelta(value))
    assert _display("duration", pd.Timedelta(value)) == str(pd.Timedelta(value))


def test_a_sweep_ignores_the_single_run_windows(csv_file):
    proc = run("--csv", str(csv_file), "--sweep", "5:10:5", "20:30:10", "--fast", "50")
    assert proc.returncode == 0, proc.stderr
    assert "sharpe_ratio" in proc.stdout.splitlines()[0]


def test_a_bad_file_is_reported_before_bad_windows(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,x,1.5\n")
    proc = run("--csv", str(path), "--fast", "30", "--slow", "10")
    assert proc.returncode == 2
    assert "Low is not a number" in proc.stderr
