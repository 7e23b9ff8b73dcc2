"""Every statistic agrees with backtesting.py 0.6 running the same strategy on the same bars."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from tradepulse.backtest import MovingAverageCrossover, backtest, synthetic_bars

backtesting = pytest.importorskip("backtesting")

# Our names -> backtesting.py's.
STAT_MAP = {
    "start": "Start",
    "end": "End",
    "duration": "Duration",
    "exposure_pct": "Exposure Time [%]",
    "equity_final": "Equity Final [$]",
    "equity_peak": "Equity Peak [$]",
    "commissions": "Commissions [$]",
    "return_pct": "Return [%]",
    "buy_hold_return_pct": "Buy & Hold Return [%]",
    "return_ann_pct": "Return (Ann.) [%]",
    "volatility_ann_pct": "Volatility (Ann.) [%]",
    "cagr_pct": "CAGR [%]",
    "sharpe_ratio": "Sharpe Ratio",
    "sortino_ratio": "Sortino Ratio",
    "calmar_ratio": "Calmar Ratio",
    "max_drawdown_pct": "Max. Drawdown [%]",
    "avg_drawdown_pct": "Avg. Drawdown [%]",
    "max_drawdown_duration": "Max. Drawdown Duration",
    "avg_drawdown_duration": "Avg. Drawdown Duration",
    "trades": "# Trades",
    "win_rate_pct": "Win Rate [%]",
    "best_trade_pct": "Best Trade [%]",
    "worst_trade_pct": "Worst Trade [%]",
    "avg_trade_pct": "Avg. Trade [%]",
    "max_trade_duration": "Max. Trade Duration",
    "avg_trade_duration": "Avg. Trade Duration",
    "profit_factor": "Profit Factor",
    "expectancy_pct": "Expectancy [%]",
    "sqn": "SQN",
}


def _average(kind: str, n: int):
    # Independent of our indicators: pandas' own rolling / ewm, EMA warm-up hidden likewise.
    def line(close):
        series = pd.Series(close)
        if kind == "sma":
            return series.rolling(n).mean().to_numpy()
        values = series.ewm(span=n, adjust=False).mean().to_numpy().copy()
        values[: n - 1] = np.nan
        return values

    line.__name__ = f"{kind}{n}"
    return line


class ReferenceCross(backtesting.Strategy):
    fast = 10
    slow = 20
    kind = "sma"
    allow_short = False

    def init(self):
        self.fast_line = self.I(_average(self.kind, self.fast), self.data.Close)
        self.slow_line = self.I(_average(self.kind, self.slow), self.data.Close)

    def next(self):
        f, s = self.fast_line, self.slow_line
        golden = f[-2] < s[-2] and f[-1] > s[-1]
        death = f[-2] > s[-2] and f[-1] < s[-1]
        if golden and not self.position.is_long:
            self.position.close()
            self.buy()
        elif death and self.allow_short and not self.position.is_short:
            self.position.close()
            self.sell()
        elif death and not self.allow_short and self.position:
            self.position.close()


def _reference(bars, fast, slow, kind, allow_short, commission, cash):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtesting.Backtest(bars, ReferenceCross, cash=cash, commission=commission)
        return bt.run(fast=fast, slow=slow, kind=kind, allow_short=allow_short)


def _assert_same(ours, theirs):
    mismatches = []
    for name, their_name in STAT_MAP.items():
        a = ours[name]
        b = theirs.get(their_name, 0.0)  # backtesting.py omits zero commissions
        if isinstance(b, (pd.Timestamp, pd.Timedelta)) or b is pd.NaT:
            same = (a is None and pd.isna(b)) or a == b
        else:
            b = float(b)
            if math.isnan(b):
                same = a is not None and math.isnan(a)
            else:
                same = math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
        if not same:
            mismatches.append(f"{name}: ours {a!r}, backtesting.py {b!r}")
    assert not mismatches, "\n".join(mismatches)


def _assert_same_trades(result, theirs):
    trades = theirs["_trades"]
    assert result.trades["entry_bar"].tolist() == trades["EntryBar"].tolist()
    assert result.trades["exit_bar"].tolist() == trades["ExitBar"].tolist()
    assert result.trades["size"].tolist() == trades["Size"].astype(int).tolist()
    np.testing.assert_allclose(result.trades["pnl"], trades["PnL"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        result.trades["return_pct"], trades["ReturnPct"] * 100, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(result.equity, theirs["_equity_curve"]["Equity"], rtol=1e-9)


CASES = [
    # bars, freq, seed, (fast, slow, kind, allow_short, commission)
    (1500, "1D", 1, (10, 20, "sma", False, 0.0)),
    (1500, "1D", 1, (5, 30, "ema", True, 0.002)),
    (1200, "1D", 2, (3, 7, "sma", True, 0.01)),
    (1200, "1D", 2, (12, 26, "ema", False, 0.001)),
    (3000, "1h", 3, (10, 40, "sma", True, 0.0005)),
    (2000, "1min", 4, (5, 15, "ema", False, 0.0)),
    (600, "7D", 5, (4, 12, "sma", True, 0.003)),
]


@pytest.mark.parametrize(("n", "freq", "seed", "params"), CASES)
def test_every_statistic_and_trade_matches_backtesting_py(n, freq, seed, params):
    fast, slow, kind, allow_short, commission = params
    bars = synthetic_bars(n, seed=seed, freq=freq)
    result = backtest(
        bars, MovingAverageCrossover(fast, slow, kind, allow_short), commission=commission
    )
    theirs = _reference(bars, fast, slow, kind, allow_short, commission, 10_000)
    assert result.stats["trades"] > 5  # the case exercises real trading
    _assert_same(result.stats, theirs)
    _assert_same_trades(result, theirs)


def test_agreement_holds_when_cash_runs_short_and_units_are_few():
    bars = synthetic_bars(1500, seed=7, volatility=0.12, reversion=0.0002)
    result = backtest(
        bars, MovingAverageCrossover(2, 5, allow_short=True), cash=1_000, commission=0.05
    )
    theirs = _reference(bars, 2, 5, "sma", True, 0.05, 1_000)
    _assert_same(result.stats, theirs)
    _assert_same_trades(result, theirs)


def test_agreement_holds_when_a_short_loses_the_whole_account():
    close = np.r_[
        np.linspace(100, 120, 30),
        np.linspace(119, 90, 20),
        [300, 320, 330],
        np.linspace(330, 340, 20),
    ]
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC")
    bars = pd.DataFrame(
        {"Open": close * 0.999, "High": close * 1.01, "Low": close * 0.98, "Close": close},
        index=index,
    )
    result = backtest(bars, MovingAverageCrossover(3, 7, allow_short=True), commission=0.01)
    theirs = _reference(bars, 3, 7, "sma", True, 0.01, 10_000)
    assert result.stats["equity_final"] == 0.0
    assert result.trades["exit_price"].iloc[-1] == 300.0  # closed at the ruinous bar's close
    _assert_same(result.stats, theirs)
    _assert_same_trades(result, theirs)


def test_a_position_open_at_the_end_is_valued_but_not_a_closed_trade():
    bars = synthetic_bars(800, seed=12)
    for fast, slow in [(5, 20), (8, 21), (10, 30), (3, 9)]:
        result = backtest(bars, MovingAverageCrossover(fast, slow), commission=0.001)
        if result.open_trade is not None:
            break
    else:
        pytest.fail("no parameter set left a position open")
    theirs = _reference(bars, fast, slow, "sma", False, 0.001, 10_000)
    _assert_same(result.stats, theirs)
    last_close = bars["Close"].iloc[-1]
    held = result.open_trade
    assert held["entry_bar"] > result.trades["exit_bar"].max()
    assert result.stats["trades"] == len(result.trades) == len(theirs["_trades"])
    cash_after_entry = (
        10_000 + result.trades["pnl"].sum() - held["size"] * held["entry_price"] * 0.001
    )
    marked = cash_after_entry + held["size"] * (last_close - held["entry_price"])
    assert math.isclose(result.equity.iloc[-1], marked, rel_tol=1e-9)
