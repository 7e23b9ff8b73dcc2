"""`manage.py export_trades` on the file backend (the embedded default)."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cloud.destinations import read_sidecar
from tests.cloud.conftest import expected_csv


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("export_trades", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def exported(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_date_exports_that_day_to_the_configured_folder(export_dir, day_trades):
    out, _ = run("--date=2025-01-20")

    path = export_dir / "2025/01/20/trades.csv"
    assert path.read_bytes() == expected_csv(day_trades)
    assert read_sidecar(path)["rows"] == 5
    assert out.splitlines() == [
        f"2025-01-20  5 rows  {path.stat().st_size:,} bytes  {path}",
        f"Exported 1 day(s), 5 rows, {path.stat().st_size:,} bytes to {export_dir.as_uri()}.",
    ]


def test_without_a_date_exports_today_utc(export_dir, user, make_trade):
    now = datetime.now(UTC)
    make_trade(user, "AAPL", "buy", "1", "1", now.isoformat())

    run()

    assert exported(export_dir) == [
        f"{now:%Y/%m/%d}/trades.csv",
        f"{now:%Y/%m/%d}/trades.csv.meta.json",
    ]


def test_all_exports_every_day_with_trades(export_dir, day_trades):
    out, _ = run("--all")

    assert [p for p in exported(export_dir) if p.endswith(".csv")] == [
        "2025/01/19/trades.csv",
        "2025/01/20/trades.csv",
        "2025/01/21/trades.csv",
    ]
    assert out.splitlines()[-1].startswith("Exported 3 day(s), 7 rows, ")


def test_day_without_trades_writes_nothing_and_says_so(export_dir, day_trades):
    out, _ = run("--date=2025-03-01")

    assert out.splitlines()[0] == "2025-03-01  no trades, nothing written"
    assert exported(export_dir) == []


def test_dry_run_reports_and_writes_nothing(export_dir, day_trades):
    out, _ = run("--start=2025-01-20", "--end=2025-01-22", "--dry-run")

    assert out.splitlines() == [
        f"2025-01-20  5 rows  would be written to {export_dir / '2025/01/20/trades.csv'}",
        f"2025-01-21  1 rows  would be written to {export_dir / '2025/01/21/trades.csv'}",
        "2025-01-22  no trades, nothing written",
        f"Dry run: 2 day(s), 6 rows would be written to {export_dir.as_uri()}.",
    ]
    assert not export_dir.exists()


def test_to_overrides_the_configured_destination(export_dir, tmp_path, day_trades):
    other = tmp_path / "elsewhere"

    run("--date=2025-01-20", f"--to={other.as_uri()}")

    assert (other / "2025/01/20/trades.csv").read_bytes() == expected_csv(day_trades)
    assert not export_dir.exists()


def test_progress_goes_to_stderr_only_on_a_terminal(export_dir, day_trades):
    out, err = run("--all")

    assert err == ""
    assert "it/s" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date=2025-02-30"], "invalid date '2025-02-30': expected YYYY-MM-DD"),
        (["--start=2025-01-20"], "--start needs --end"),
        (["--end=2025-01-20"], "--end needs --start"),
        (
            ["--start=2025-01-20", "--end=2025-01-19"],
            "--end 2025-01-19 is before --start 2025-01-20",
        ),
        (["--to=ftp://example.test/x"], "expected s3://BUCKET[/PREFIX] or file:///PATH"),
        (["--to=file://relative/path"], "a folder is file:///ABSOLUTE/PATH"),
        (["--to=s3://"], "a bucket is s3://BUCKET or s3://BUCKET/PREFIX"),
    ],
)
def test_bad_arguments_end_with_a_one_line_error(export_dir, db, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_date_options_are_mutually_exclusive(export_dir, db):
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("--all", "--date=2025-01-20")


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_multi_day_export_shows_a_progress_bar_on_a_terminal(export_dir, day_trades):
    err = Terminal()
    out = StringIO()

    call_command("export_trades", "--all", stdout=out, stderr=err)

    assert "days:" in err.getvalue()
    assert "/3 [" in err.getvalue()
    assert len(out.getvalue().splitlines()) == 4


def test_no_progress_silences_the_bar(export_dir, day_trades):
    err = Terminal()

    call_command("export_trades", "--all", "--no-progress", stdout=StringIO(), stderr=err)

    assert err.getvalue() == ""
