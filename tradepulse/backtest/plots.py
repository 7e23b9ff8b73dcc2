"""Pictures of backtests and sweeps: PNG through matplotlib, or one self-contained HTML page.

The HTML pages need no network: charts are inline SVG drawn here, and a few lines of vanilla
JavaScript show the values under the pointer from the data embedded in the page.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .engine import BacktestResult
from .errors import BacktestError

#: Long series are thinned to about this many points per line (min/max kept per bucket).
MAX_POINTS = 2000


def _thin(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Bar positions to draw: all of them, or each bucket's first, extremes kept by caller."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(np.int64))


def _thin_minmax(values: np.ndarray, limit: int = MAX_POINTS) -> np.ndarray:
    """Positions keeping each bucket's minimum and maximum, so spikes survive thinning."""
    n = len(values)
    if n <= limit:
        return np.arange(n)
    edges = np.linspace(0, n, limit // 2 + 1).astype(np.int64)
    keep = [edges[:-1], [n - 1]]
    filled = np.where(
        np.isnan(values), np.nanmean(values) if np.isfinite(values).any() else 0, values
    )
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > lo:
            seg = filled[lo:hi]
            keep.append([lo + int(np.argmin(seg)), lo + int(np.argmax(seg))])
    return np.unique(np.concatenate([np.asarray(k, dtype=np.int64) for k in keep]))


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".png":
        return "png"
    if suffix in (".html", ".htm"):
        return "html"
    raise BacktestError(f"plot file must end in .png or .html, got {path.name!r}")


def plot_backtest(result: BacktestResult, path: str | Path) -> Path:
    """Draw price with the strategy's averages and trade markers, then equity and drawdown.

    The format follows the suffix: ``.png`` or ``.html``. Returns the path written.
    """
    path = Path(path)
    kind = _kind(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "png":
        _backtest_png(result, path)
    else:
        path.write_text(_backtest_html(result), encoding="utf-8")
    return path


def plot_sweep(table: pd.DataFrame, path: str | Path, metric: str = "sharpe_ratio") -> Path:
    """Draw a fast x slow heatmap of ``metric`` from a :func:`sweep` table (.png or .html)."""
    path = Path(path)
    kind = _kind(path)
    if metric not in table.columns:
        raise BacktestError(f"the sweep table has no column {metric!r}")
    grid = table.pivot_table(index="slow", columns="fast", values=metric, aggfunc="first")
    grid = grid.sort_index(ascending=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "png":
        _sweep_png(grid, metric, path)
    else:
        path.write_text(_sweep_html(grid, metric), encoding="utf-8")
    return path


# --- PNG ------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    return plt


def _backtest_png(result: BacktestResult, path: Path) -> None:
    plt = _pyplot()
    bars = result.bars
    dates = bars.index.tz_convert("UTC").tz_localize(None)
    close = bars["Close"].to_numpy()
    fig, (ax_price, ax_eq) = plt.subplots(
        2, 1, figsize=(12, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    keep = _thin_minmax(close)
    ax_price.plot(dates[keep], close[keep], color="#444", lw=0.8, label="Close")
    for (name, line), color in zip(result.indicators.items(), ("#1f77b4", "#ff7f0e"), strict=False):
        ax_price.plot(dates[keep], line[keep], color=color, lw=1.0, label=name)
    trades = result.trades
    if len(trades):
        longs = trades["size"] > 0
        for mask, marker, color, label in (
            (longs, "^", "#2ca02c", "long entry"),
            (~longs, "v", "#d62728", "short entry"),
        ):
            sel = trades[mask]
            if len(sel):
                ax_price.scatter(
                    dates[sel["entry_bar"]],
                    sel["entry_price"],
                    marker=marker,
                    color=color,
                    s=30,
                    zorder=3,
                    label=label,
                )
        ax_price.scatter(
            dates[trades["exit_bar"]],
            trades["exit_price"],
            marker="x",
            color="#000",
            s=25,
            zorder=3,
            label="exit",
        )
    ax_price.set_title(f"{result.strategy!r}")
    ax_price.legend(loc="upper left", fontsize=8)
    ax_price.grid(alpha=0.3)

    equity = result.equity.to_numpy()
    keep_eq = _thin_minmax(equity)
    ax_eq.plot(dates[keep_eq], equity[keep_eq], color="#1f77b4", lw=1.0, label="Equity")
    ax_eq.set_ylabel("Equity")
    ax_eq.grid(alpha=0.3)
    ax_dd = ax_eq.twinx()
    dd = result.drawdown_pct.to_numpy()
    keep_dd = _thin_minmax(dd)
    ax_dd.fill_between(dates[keep_dd], dd[keep_dd], 0, color="#d62728", alpha=0.25, lw=0)
    ax_dd.set_ylabel("Drawdown [%]")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _sweep_png(grid: pd.DataFrame, metric: str, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(
        figsize=(1.2 + 0.7 * max(4, grid.shape[1]), 1.0 + 0.5 * max(4, grid.shape[0]))
    )
    values = grid.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(i) for i in grid.index])
    ax.set_xlabel("fast")
    ax.set_ylabel("slow")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_title(f"{metric} by window")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- HTML -----------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#222}
svg{background:#fff;border:1px solid #ddd;display:block;margin-bottom:12px}
.readout{font:13px monospace;min-height:1.4em;margin:4px 0}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #eee}
td:last-child{text-align:right}
"""

_HOVER_JS = """
(function(){
  const data = JSON.parse(document.getElementById('series').textContent);
  document.querySelectorAll('svg[data-chart]').forEach(function(svg){
    const out = document.getElementById(svg.dataset.chart + '-readout');
    const cursor = svg.querySelector('.cursor');
    svg.addEventListener('mousemove', function(ev){
      const box = svg.getBoundingClientRect();
      const x = (ev.clientX - box.left) * (svg.viewBox.baseVal.width / box.width);
      const f = (x - data.left) / data.width;
      const i = Math.max(0, Math.min(data.dates.length - 1, Math.round(f * (data.dates.length - 1))));
      cursor.setAttribute('x1', x); cursor.setAttribute('x2', x);
      const parts = [data.dates[i]];
      for (const [name, values] of Object.entries(data.lines)) {
        const v = values[i];
        if (v !== null) parts.push(name + ' ' + v.toFixed(2));
      }
      out.textContent = parts.join('  ');
    });
  });
})();
"""


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _polyline(x: np.ndarray, y: np.ndarray, color: str, width: float = 1.2) -> str:
    ok = np.isfinite(y)
    if not ok.any():
        return ""
    points = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in zip(x[ok], y[ok], strict=True))
    return f'<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{points}"/>'


class _Frame:
    """Maps bar positions and values into an SVG box."""

    def __init__(self, n: int, low: float, high: float, width=960, height=300, left=60, top=10):
        self.n, self.width, self.height, self.left, self.top = n, width, height, left, top
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        self.low, self.high = low - pad, high + pad

    def x(self, pos: np.ndarray) -> np.ndarray:
        return self.left + np.asarray(pos, dtype=float) / max(1, self.n - 1) * self.width

    def y(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        return self.top + (self.high - v) / (self.high - self.low) * self.height

    def axes(self, labels: list[str]) -> str:
        parts = []
        for k in range(5):
            value = self.low + (self.high - self.low) * k / 4
            yy = float(self.y(np.array([value]))[0])
            parts.append(
                f'<line x1="{self.left}" x2="{self.left + self.width}" y1="{_fmt(yy)}" '
                f'y2="{_fmt(yy)}" stroke="#eee"/><text x="{self.left - 6}" y="{_fmt(yy + 4)}" '
                f'font-size="11" text-anchor="end">{value:.4g}</text>'
            )
        for k, label in enumerate(labels):
            xx = self.left + self.width * k / max(1, len(labels) - 1)
            parts.append(
                f'<text x="{_fmt(xx)}" y="{self.top + self.height + 16}" font-size="11" '
                f'text-anchor="middle">{html.escape(label)}</text>'
            )
        return "".join(parts)


def _svg(chart_id: str, frame: _Frame, body: str) -> str:
    w = frame.left + frame.width + 20
    h = frame.top + frame.height + 26
    return (
        f'<svg data-chart="{chart_id}" viewBox="0 0 {w} {h}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg">{body}'
        f'<line class="cursor" x1="0" x2="0" y1="{frame.top}" y2="{frame.top + frame.height}" '
        f'stroke="#999" stroke-dasharray="3,3"/></svg>'
        f'<div class="readout" id="{chart_id}-readout"></div>'
    )


def _json_list(values: np.ndarray) -> list[Any]:
    return [round(float(v), 6) if math.isfinite(v) else None for v in values]


def _backtest_html(result: BacktestResult) -> str:
    bars = result.bars
    close = bars["Close"].to_numpy()
    n = len(close)
    keep = _thin(n)
    dates = bars.index
    labels = [d.strftime("%Y-%m-%d %H:%M") for d in dates[np.linspace(0, n - 1, 5).astype(int)]]
    lines = {"Close": close, **result.indicators}
    finite = np.concatenate([v[np.isfinite(v)] for v in lines.values()])
    price = _Frame(n, float(finite.min()), float(finite.max()))
    body = price.axes(labels)
    colors = ["#444", "#1f77b4", "#ff7f0e", "#9467bd"]
    keep_close = _thin_minmax(close)
    for (name, values), color in zip(lines.items(), colors, strict=False):
        idx = keep_close if name == "Close" else keep
        body += _polyline(
            price.x(idx), price.y(values[idx]), color, 1.0 if name == "Close" else 1.4
        )
    for row in result.trades.itertuples(index=False):
        ex, ey = price.x(np.array([row.entry_bar]))[0], price.y(np.array([row.entry_price]))[0]
        color = "#2ca02c" if row.size > 0 else "#d62728"
        tip = html.escape(
            f"{'long' if row.size > 0 else 'short'} {abs(row.size)} @ {row.entry_price:.2f} "
            f"-> {row.exit_price:.2f}: {row.return_pct:+.2f}%"
        )
        body += (
            f'<circle class="entry" cx="{_fmt(ex)}" cy="{_fmt(ey)}" r="3.5" fill="{color}">'
            f"<title>{tip}</title></circle>"
        )
        xx, xy = price.x(np.array([row.exit_bar]))[0], price.y(np.array([row.exit_price]))[0]
        body += f'<rect class="exit" x="{_fmt(xx - 3)}" y="{_fmt(xy - 3)}" width="6" height="6" fill="#000"/>'
    equity = result.equity.to_numpy()
    dd = result.drawdown_pct.to_numpy()
    eq = _Frame(n, float(np.nanmin(equity)), float(np.nanmax(equity)), height=180)
    keep_eq = _thin_minmax(equity)
    eq_body = eq.axes(labels) + _polyline(eq.x(keep_eq), eq.y(equity[keep_eq]), "#1f77b4")
    ddf = _Frame(n, float(min(np.nanmin(dd), -1e-9)), 0.0, height=120)
    keep_dd = _thin_minmax(dd)
    xs, ys = ddf.x(keep_dd), ddf.y(np.nan_to_num(dd[keep_dd]))
    zero = float(ddf.y(np.array([0.0]))[0])
    area = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in zip(xs, ys, strict=True))
    dd_body = ddf.axes(labels) + (
        f'<polygon fill="#d62728" fill-opacity="0.3" stroke="#d62728" stroke-width="0.6" '
        f'points="{_fmt(xs[0])},{_fmt(zero)} {area} {_fmt(xs[-1])},{_fmt(zero)}"/>'
    )
    series = {
        "left": price.left,
        "width": price.width,
        "dates": [d.isoformat() for d in dates[keep]],
        "lines": {
            **{name: _json_list(values[keep]) for name, values in lines.items()},
            "Equity": _json_list(equity[keep]),
            "Drawdown %": _json_list(dd[keep]),
        },
    }
    stats_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(_display(v))}</td></tr>"
        for k, v in result.stats.items()
    )
    title = html.escape(repr(result.strategy))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Backtest {title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Backtest {title}</h1>"
        f"<h2>Price and averages</h2>{_svg('price', price, body)}"
        f"<h2>Equity</h2>{_svg('equity', eq, eq_body)}"
        f"<h2>Drawdown</h2>{_svg('drawdown', ddf, dd_body)}"
        f"<h2>Statistics</h2><table>{stats_rows}</table>"
        f"<script type='application/json' id='series'>{_safe_json(series)}</script>"
        f"<script>{_HOVER_JS}</script></body></html>"
    )


def _sweep_html(grid: pd.DataFrame, metric: str) -> str:
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    cell, left, top = 56, 60, 20
    rows, cols = values.shape
    parts = []
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            t = (v - lo) / (hi - lo) if hi > lo else 0.5
            color = f"hsl({int(240 - 200 * t)},70%,{int(35 + 25 * t)}%)"
            label = f"{v:.2f}"
        else:
            color, label = "#ccc", "n/a"
        x, y = left + j * cell, top + i * cell
        tip = html.escape(f"fast {grid.columns[j]}, slow {grid.index[i]}: {metric} {label}")
        parts.append(
            f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
            f'fill="{color}"><title>{tip}</title></rect>'
            f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" font-size="12" fill="#fff" '
            f'text-anchor="middle">{label}</text>'
        )
    for j, f in enumerate(grid.columns):
        parts.append(
            f'<text x="{left + j * cell + cell / 2}" y="{top + rows * cell + 16}" '
            f'font-size="12" text-anchor="middle">{f}</text>'
        )
    for i, s in enumerate(grid.index):
        parts.append(
            f'<text x="{left - 8}" y="{top + i * cell + cell / 2 + 4}" font-size="12" '
            f'text-anchor="end">{s}</text>'
        )
    w, h = left + cols * cell + 20, top + rows * cell + 40
    data = {
        "metric": metric,
        "fast": [int(c) for c in grid.columns],
        "slow": [int(i) for i in grid.index],
        "values": [_json_list(row) for row in values],
    }
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Sweep: {html.escape(metric)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(metric)} by fast (x) and slow (y) window</h1>"
        f'<svg viewBox="0 0 {w} {h}" width="{w}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(parts)}</svg>"
        f"<script type='application/json' id='grid'>{_safe_json(data)}</script>"
        "</body></html>"
    )


def _safe_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _display(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.4f}"
    return str(value)
