import hashlib
import json
from datetime import date

import pytest

from cloud import services
from cloud.destinations import FileDestination, read_sidecar
from cloud.exceptions import ExportError
from cloud.services import export_day
from tests.cloud.conftest import expected_csv

DAY = date(2025, 1, 20)


def test_export_day_writes_the_csv_under_the_day_key_with_a_metadata_sidecar(tmp_path, day_trades):
    result = export_day(DAY, FileDestination(tmp_path))

    path = tmp_path / "2025" / "01" / "20" / "trades.csv"
    body = path.read_bytes()
    assert body == expected_csv(day_trades)
    assert result.written
    assert result == (DAY, 5, len(body), str(path), hashlib.sha256(body).hexdigest())
    assert read_sidecar(path) == {"rows": 5, "sha256": result.sha256, "bytes": len(body)}


def test_export_leaves_no_temporary_files_and_readable_results(tmp_path, day_trades):
    export_day(DAY, FileDestination(tmp_path))

    files = sorted((tmp_path / "2025" / "01" / "20").iterdir())
    assert [p.name for p in files] == ["trades.csv", "trades.csv.meta.json"]
    assert [p.stat().st_mode & 0o777 for p in files] == [0o644, 0o644]


def test_rerun_overwrites_with_identical_bytes(tmp_path, day_trades):
    destination = FileDestination(tmp_path)
    first = export_day(DAY, destination)
    path = tmp_path / "2025/01/20/trades.csv"
    before = path.read_bytes()
    path.write_bytes(b"stale")

    second = export_day(DAY, destination)

    assert path.read_bytes() == before
    assert second == first


def test_day_without_trades_writes_nothing(tmp_path, day_trades):
    result = export_day(date(2025, 1, 22), FileDestination(tmp_path))

    assert not result.written
    assert (result.rows, result.bytes, result.sha256) == (0, 0, None)
    assert not (tmp_path / "2025" / "01" / "22").exists()


def test_failure_mid_stream_keeps_the_previous_file_and_sidecar(tmp_path, day_trades, monkeypatch):
    destination = FileDestination(tmp_path)
    export_day(DAY, destination)
    path = tmp_path / "2025/01/20/trades.csv"
    before, meta_before = path.read_bytes(), read_sidecar(path)

    def broken_blocks(day, method=None):
        yield b"trade_id,user,ticker,side,price,quantity,timestamp\n", 0
        yield b"1,alice,AAPL,buy,1,1,2025-01-20T00:00:00.000000Z\n", 1
        raise ExportError("connection to the database lost")

    monkeypatch.setattr(services, "day_csv_blocks", broken_blocks)
    with pytest.raises(ExportError):
        export_day(DAY, destination)

    assert path.read_bytes() == before
    assert read_sidecar(path) == meta_before
    assert sorted(p.name for p in path.parent.iterdir()) == ["trades.csv", "trades.csv.meta.json"]


def test_destination_that_is_not_a_folder_fails_with_a_one_line_cause(tmp_path, day_trades):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    destination = FileDestination(blocker / "exports")

    with pytest.raises(ExportError) as caught:
        destination.check()
    assert "not a writable folder" in str(caught.value)
    with pytest.raises(ExportError) as caught:
        export_day(DAY, destination)
    assert "\n" not in str(caught.value)


def test_exported_file_is_the_analysis_storage_input(tmp_path, day_trades):
    from tradepulse.analysis import run_analysis

    destination = FileDestination(tmp_path)
    export_day(DAY, destination)

    outcome = run_analysis("2025-01-20", destination.storage())

    assert outcome == (200, "Analysis saved for 2025-01-20")
    saved = json.loads((tmp_path / "analysis/2025/01/20/analysis.json").read_text())
    assert saved["row_count"] == 5
    assert saved["tickers"]["AAPL"]["net_quantity"] == "6"
