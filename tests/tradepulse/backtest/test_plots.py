import json
import re

import pytest

from tradepulse.backtest import (
    BacktestError,
    MovingAverageCrossover,
    backtest,
    sweep,
    synthetic_bars,
)
from tradepulse.backtest.plots import plot_backtest, plot_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result():
    return backtest(synthetic_bars(600, seed=4), MovingAverageCrossover(5, 20, allow_short=True))


@pytest.fixture(scope="module")
def table():
    return sweep(synthetic_bars(600, seed=4), fast=[5, 10], slow=[20, 30, 40])


def test_backtest_png_is_a_real_picture(result, tmp_path):
    path = plot_backtest(result, tmp_path / "bt.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000


def test_backtest_html_is_self_contained_and_holds_the_series(result, tmp_path):
    page = plot_backtest(result, tmp_path / "bt.html").read_text()
    assert "<svg" in page and "polyline" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing from a CDN
    series = json.loads(
        re.search(r"<script type='application/json' id='series'>(.*?)</script>", page).group(1)
    )
    close = result.bars["Close"].round(6).tolist()
    assert series["lines"]["Close"] == close
    assert series["lines"]["SMA(5)"][4] == pytest.approx(result.indicators["SMA(5)"][4])
    assert page.count('class="entry"') == len(result.trades)


def test_sweep_heatmaps(table, tmp_path):
    png = plot_sweep(table, tmp_path / "grid.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000
    page = plot_sweep(table, tmp_path / "grid.html").read_text()
    grid = json.loads(re.search(r"id='grid'>(.*?)</script>", page).group(1))
    assert grid["fast"] == [5, 10] and grid["slow"] == [40, 30, 20]
    best = table.iloc[0]
    row = grid["slow"].index(best["slow"])
    col = grid["fast"].index(best["fast"])
    assert grid["values"][row][col] == pytest.approx(best["sharpe_ratio"], rel=1e-6)
    assert page.count('class="cell"') == 6


def test_unknown_picture_format_is_refused(result, tmp_path):
    with pytest.raises(BacktestError, match=".png or .html"):
        plot_backtest(result, tmp_path / "bt.jpg")
