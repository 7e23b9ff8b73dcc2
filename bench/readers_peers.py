"""The peers of bench/readers.py, each a whole process as its users would write it.

python bench/readers_peers.py backtesting BARS.csv   # pandas.read_csv + backtesting.py
python bench/readers_peers.py scan TICKS.csv         # csv module + monotonic deques
"""

from __future__ import annotations

import sys


def backtesting_py(path: str) -> None:
    import os
    import warnings

    os.environ.setdefault("TQDM_DISABLE", "1")
    import backtesting
    import pandas as pd

    def sma(values, n):
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(backtesting.Strategy):
        fast = 10
        slow = 20

        def init(self):
            self.f = self.I(sma, self.data.Close, self.fast)
            self.s = self.I(sma, self.data.Close, self.slow)

        def next(self):
            f, s = self.f, self.s
            if f[-2] < s[-2] and f[-1] > s[-1] and not self.position:
                self.buy()
            elif f[-2] > s[-2] and f[-1] < s[-1] and self.position:
                self.position.close()

    bars = pd.read_csv(path, index_col=0, parse_dates=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(backtesting.Backtest(bars, SmaCross).run())


def deque_scan(path: str, threshold: float = 0.02, window: float = 60.0) -> None:
    import csv
    from collections import deque
    from datetime import datetime

    windows: dict[str, tuple[deque, deque]] = {}
    ticks = alerts = 0
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for ticker, stamp, text in reader:
            price = float(text)
            t = datetime.fromisoformat(stamp).timestamp()
            ticks += 1
            lows, highs = windows.get(ticker) or windows.setdefault(ticker, (deque(), deque()))
            while lows and lows[0][1] < t - window:
                lows.popleft()
            while highs and highs[0][1] < t - window:
                highs.popleft()
            while lows and lows[-1][0] >= price:
                lows.pop()
            while highs and highs[-1][0] <= price:
                highs.pop()
            lows.append((price, t))
            highs.append((price, t))
            if price / lows[0][0] - 1 >= threshold or 1 - price / highs[0][0] >= threshold:
                alerts += 1
                print(ticker, stamp, price)
                lows.clear()
                highs.clear()
                lows.append((price, t))
                highs.append((price, t))
    print(f"{ticks} ticks, {alerts} alerts", file=sys.stderr)


if __name__ == "__main__":
    {"backtesting": backtesting_py, "scan": deque_scan}[sys.argv[1]](sys.argv[2])
