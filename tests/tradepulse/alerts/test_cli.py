import subprocess
import sys

from tradepulse.alerts.cli import main

SPIKES = (
    "ticker,timestamp,price\n"
    "AAPL,2025-01-20T14:30:00+00:00,100\n"
    "AAPL,2025-01-20T14:30:20+00:00,99.5\n"
    "AAPL,2025-01-20T14:30:50+00:00,101.9\n"
    "MSFT,2025-01-20T14:31:10+00:00,400\n"
    "MSFT,2025-01-20T14:31:30+00:00,391\n"
)


def test_scan_prints_each_alert_line(tmp_path, capsys):
    path = tmp_path / "ticks.csv"
    path.write_text(SPIKES)
    assert main(["scan", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "2025-01-20T14:30:50+00:00  📈 Price Spike Alert: AAPL increased by 2.4% in 1 minute!",
        "2025-01-20T14:31:30+00:00  📉 Price Drop Alert: MSFT decreased by 2.2% in 1 minute!",
    ]


def test_scan_threshold_is_in_percent_and_window_in_seconds(tmp_path, capsys):
    path = tmp_path / "ticks.csv"
    path.write_text(SPIKES)
    assert main(["scan", str(path), "--threshold", "3"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["scan", str(path), "--threshold", "2", "--window", "20"]) == 0
    out = capsys.readouterr().out
    assert "AAPL" not in out and "MSFT decreased by 2.2% in 20 seconds!" in out


def test_scan_bad_row_exits_non_zero_naming_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,1\nAAPL,2025-01-20T14:30:01,x\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "tradepulse.alerts", "scan", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path} line 3: price 'x' is not a number"


def test_scan_missing_file_exits_non_zero(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err
