import json
from datetime import date

import pytest

from tradepulse.analysis import HEADER_LINE, LocalStorage, analyse, parse_day, run_analysis
from tradepulse.analysis.runner import InvalidDate

ROWS = [
    HEADER_LINE,
    "1,alice,AAPL,buy,187.25,10,2025-01-20T14:30:00.000000Z",
    "2,bob,AAPL,sell,187.5,4,2025-01-20T15:00:00Z",
]


def write_day(root, day: str, lines: list[str]) -> None:
    year, month, dom = day.split("-")
    folder = root / year / month / dom
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trades.csv").write_text("\n".join(lines) + "\n")


def saved_analysis(root, day: str):
    year, month, dom = day.split("-")
    path = root / "analysis" / year / month / dom / "analysis.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_run_saves_the_analysis_of_the_day(tmp_path):
    write_day(tmp_path, "2025-01-20", ROWS)

    outcome = run_analysis("2025-01-20", LocalStorage(tmp_path))

    assert outcome == (200, "Analysis saved for 2025-01-20")
    assert saved_analysis(tmp_path, "2025-01-20") == analyse(ROWS, date(2025, 1, 20))


def test_rerun_replaces_the_earlier_result(tmp_path):
    write_day(tmp_path, "2025-01-20", ROWS)
    run_analysis("2025-01-20", LocalStorage(tmp_path))
    write_day(tmp_path, "2025-01-20", ROWS[:2])

    status, _ = run_analysis("2025-01-20", LocalStorage(tmp_path))

    assert status == 200
    assert saved_analysis(tmp_path, "2025-01-20")["row_count"] == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "Missing date"),
        ("", "Missing date"),
        ("20250120", "expected YYYY-MM-DD"),
        ("2025-1-20", "expected YYYY-MM-DD"),
        ("2025-02-30", "no such calendar day"),
        (20250120, "expected YYYY-MM-DD"),
    ],
)
def test_missing_or_invalid_date_is_400(tmp_path, value, message):
    status, text = run_analysis(value, LocalStorage(tmp_path))
    assert status == 400
    assert message in text


def test_parse_day_reads_an_iso_date():
    assert parse_day(" 2025-01-20 ") == date(2025, 1, 20)
    with pytest.raises(InvalidDate):
        parse_day("2025-W04-1")


def test_missing_trades_file_is_404(tmp_path):
    status, message = run_analysis("2025-01-21", LocalStorage(tmp_path))
    assert status == 404
    assert "2025-01-21" in message
    assert "trades.csv" in message


def test_malformed_file_is_422_and_keeps_the_previous_result(tmp_path):
    write_day(tmp_path, "2025-01-20", ROWS)
    run_analysis("2025-01-20", LocalStorage(tmp_path))
    previous = saved_analysis(tmp_path, "2025-01-20")
    write_day(tmp_path, "2025-01-20", [*ROWS, "3,carol,AAPL,buy,-1,1,2025-01-20T16:00:00Z"])

    status, message = run_analysis("2025-01-20", LocalStorage(tmp_path))

    assert status == 422
    assert "line 4, field 'price'" in message
    assert saved_analysis(tmp_path, "2025-01-20") == previous


def test_malformed_file_leaves_no_result_when_there_was_none(tmp_path):
    write_day(tmp_path, "2025-01-20", ["trade_id,user,ticker", "1,a,AAPL"])

    status, message = run_analysis("2025-01-20", LocalStorage(tmp_path))

    assert status == 422
    assert "line 1, field 'header'" in message
    assert not (tmp_path / "analysis").exists()


def test_storage_failure_is_502_with_its_cause(tmp_path):
    write_day(tmp_path, "2025-01-20", ROWS)
    (tmp_path / "analysis").write_text("a file where the analysis folder should be")

    status, message = run_analysis("2025-01-20", LocalStorage(tmp_path))

    assert status == 502
    assert "cannot write" in message


def test_file_that_is_not_utf8_is_422(tmp_path):
    write_day(tmp_path, "2025-01-20", ROWS)
    path = tmp_path / "2025" / "01" / "20" / "trades.csv"
    path.write_bytes(path.read_bytes() + b"3,\xff\xfe,AAPL,buy,1,1,2025-01-20T16:00:00Z\n")

    status, message = run_analysis("2025-01-20", LocalStorage(tmp_path))

    assert status == 422
    assert "not valid UTF-8" in message
    assert saved_analysis(tmp_path, "2025-01-20") is None
