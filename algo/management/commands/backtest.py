import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from algo.api.inputs import BacktestInput, first_error
from algo.errors import FieldError, MarketDataUnavailable
from algo.management.commands._common import resolve_user
from algo.services import backtest_create
from tradepulse.backtest.stats import STAT_NAMES


class Command(BaseCommand):
    help = (
        "Run a moving-average-crossover backtest, store it as a run of USER (default: the demo "
        "user) and print its statistics and id."
    )

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--csv", metavar="FILE", help="bars from a CSV (Yahoo export format)")
        source.add_argument("--ticker", help="download bars with yfinance")
        source.add_argument("--synthetic", type=int, metavar="N", help="N generated bars")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--freq", default="1D", help="spacing of --synthetic bars (1D)")
        parser.add_argument("--period", default="1y", help="history of --ticker (1y)")
        parser.add_argument("--interval", default="1d", help="bar size of --ticker (1d)")
        parser.add_argument("--fast", type=int, default=10)
        parser.add_argument("--slow", type=int, default=20)
        parser.add_argument("--kind", default="sma", help="sma or ema")
        parser.add_argument("--allow-short", action="store_true")
        parser.add_argument("--cash", type=float, default=10_000.0)
        parser.add_argument("--commission", type=float, default=0.0)
        parser.add_argument("--user", help="owner of the run (default: the demo user)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **o):
        user = resolve_user(o["user"])
        fields = {
            "fast": o["fast"],
            "slow": o["slow"],
            "kind": o["kind"],
            "allow_short": o["allow_short"],
            "cash": o["cash"],
            "commission": o["commission"],
        }
        if o["ticker"]:
            fields.update(ticker=o["ticker"], period=o["period"], interval=o["interval"])
        elif o["synthetic"] is not None:
            fields.update(synthetic=o["synthetic"], seed=o["seed"], freq=o["freq"])
        given = BacktestInput(data=fields, csv_name=Path(o["csv"]).name if o["csv"] else None)
        try:
            if not given.is_valid():
                raise FieldError(*first_error(given.errors))
            run = backtest_create(
                owner=user,
                params=given.strategy_params(),
                source=given.bars_source(),
                csv_path=o["csv"],
            )
        except FieldError as exc:
            field = {"file": "--csv", "allow_short": "--allow-short"}.get(
                exc.field, f"--{exc.field}"
            )
            raise CommandError(f"{field}: {exc.message}") from None
        except MarketDataUnavailable as exc:
            raise CommandError(str(exc)) from None
        if o["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": run.pk,
                        "status": run.status,
                        "stats": run.stats,
                        "error": run.error or None,
                    }
                )
            )
            return
        if run.status == "failed":
            raise CommandError(f"backtest {run.pk} failed: {run.error}")
        if run.status != "done":
            self.stdout.write(f"backtest {run.pk} is {run.status} (a worker will run it)")
            return
        width = max(len(k) for k in STAT_NAMES)
        for key in STAT_NAMES:
            value = run.stats[key]
            shown = (
                "n/a"
                if value is None
                else (f"{value:.4f}" if isinstance(value, float) else str(value))
            )
            self.stdout.write(f"{key:<{width}}  {shown:>28}")
        self.stdout.write(f"run id: {run.pk}  ({len(run.trades)} closed trades, {run.bars} bars)")
