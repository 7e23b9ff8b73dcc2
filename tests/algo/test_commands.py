"""manage.py backtest and manage.py paper_trade."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from algo.models import BacktestRun, PaperSession
from ledger.models import Trade
from tests.algo.test_paper_trading import expected_fills, ledger_fills
from tests.tradepulse.paper_ticks import ticks_for_bars
from tradepulse.backtest import MovingAverageCrossover, backtest, synthetic_bars


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_backtest_prints_the_statistics_and_the_run_id(user):
    output = run(
        "backtest",
        "--synthetic",
        "500",
        "--seed",
        "3",
        "--fast",
        "5",
        "--slow",
        "20",
        "--user",
        "alice",
    )
    stored = BacktestRun.objects.get()
    assert stored.owner == user and stored.status == "done"
    assert f"run id: {stored.pk}" in output
    expected = backtest(synthetic_bars(500, seed=3), MovingAverageCrossover(5, 20))
    assert stored.stats == expected.to_json_dict()
    trades_line = next(line for line in output.splitlines() if line.startswith("trades "))
    assert trades_line.split()[-1] == str(expected.stats["trades"])


@pytest.mark.django_db
def test_backtest_reads_a_csv_and_defaults_to_the_demo_user(tmp_path, settings):
    path = tmp_path / "bars.csv"
    synthetic_bars(200, seed=1).to_csv(path)
    output = run("backtest", "--csv", str(path), "--json")
    stored = BacktestRun.objects.get()
    assert stored.owner.username == settings.DEMO_USERNAME
    assert f'"id": {stored.pk}' in output and stored.data["name"] == "bars.csv"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--synthetic", "300", "--fast", "30", "--slow", "20"],
            "--fast: fast (30) must be smaller",
        ),
        (["--synthetic", "300", "--kind", "wma"], "--kind: must be one of"),
        (["--csv", "/nonexistent/prices.csv"], "--csv: "),
        (["--synthetic", "300", "--user", "nobody"], "no user 'nobody'"),
    ],
)
def test_backtest_reports_bad_input_as_a_command_error(args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("backtest", *args)
    assert BacktestRun.objects.count() == 0


@pytest.mark.django_db
def test_backtest_of_an_unreachable_ticker_says_why(offline_yahoo):
    with pytest.raises(CommandError, match="could not download AAPL from Yahoo Finance"):
        run("backtest", "--ticker", "AAPL")


@pytest.mark.django_db(transaction=True)
def test_paper_trade_runs_in_the_foreground_and_writes_the_backtest_trades(
    user, settings, tmp_path
):
    ticks = ticks_for_bars(300, seed=5)
    path = tmp_path / "ticks.csv"
    path.write_text(
        "ticker,timestamp,price\n"
        + "".join(f"{t.ticker},{t.timestamp.isoformat()},{t.price!r}\n" for t in ticks)
        + "MSFT,2025-03-03T20:00:00+00:00,400\n"
    )
    settings.MARKET_DATA_PROVIDER = "replay"
    settings.MARKET_REPLAY_FILE = str(path)
    settings.MARKET_REPLAY_SPEED = 0
    settings.MARKET_REPLAY_REBASE = False

    output = run(
        "paper_trade",
        "--ticker",
        "aapl",
        "--fast",
        "5",
        "--slow",
        "20",
        "--bar",
        "1m",
        "--commission",
        "0.001",
        "--user",
        "alice",
    )
    session = PaperSession.objects.get()
    assert session.status == "stopped" and session.runner == "command"
    assert session.owner == user and session.ticker == "AAPL"
    expected = expected_fills(ticks)
    assert ledger_fills(session.pk) == expected
    assert output.count(" entry: ") + output.count(" exit: ") == len(expected)
    assert f"stopped session {session.pk}" in output
    assert not Trade.objects.filter(ticker="MSFT").exists()


@pytest.mark.django_db
def test_paper_trade_refuses_a_bad_bar():
    with pytest.raises(CommandError, match="--bar: "):
        run("paper_trade", "--ticker", "AAPL", "--bar", "3s")
    assert PaperSession.objects.count() == 0
