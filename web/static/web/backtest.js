/* A backtest run's interactive charts: candles with both averages and the trades' entry and
   exit markers, then equity and drawdown, on one synchronised time axis. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const LC = window.LightweightCharts;
  const base = {
    layout: { background: { color: "#172029" }, textColor: "#8b98a5", attributionLogo: false },
    grid: { vertLines: { color: "#1f2a35" }, horzLines: { color: "#1f2a35" } },
    rightPriceScale: { borderColor: "#26323d" },
    timeScale: { borderColor: "#26323d", timeVisible: true },
    autoSize: true,
  };
  const price = LC.createChart(document.getElementById("price-chart"), base);
  const candles = price.addSeries(LC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false,
    wickUpColor: "#26a69a", wickDownColor: "#ef5350",
  });
  candles.setData(data.candles);
  const colours = ["#4c9aff", "#f0b429"];
  data.averages.forEach((avg, i) => {
    const line = price.addSeries(LC.LineSeries, {
      color: colours[i % colours.length], lineWidth: 2, title: avg.name,
      priceLineVisible: false, lastValueVisible: false,
    });
    line.setData(avg.points);
  });
  LC.createSeriesMarkers(candles, data.markers);

  const equity = LC.createChart(document.getElementById("equity-chart"), base);
  equity.addSeries(LC.LineSeries, { color: "#4c9aff", lineWidth: 2, priceLineVisible: false }).setData(data.equity);
  const drawdown = LC.createChart(document.getElementById("drawdown-chart"), base);
  drawdown.addSeries(LC.AreaSeries, {
    lineColor: "#ef5350", topColor: "rgba(239,83,80,0.05)", bottomColor: "rgba(239,83,80,0.4)",
    lineWidth: 1, priceLineVisible: false, invertFilledArea: true,
  }).setData(data.drawdown);

  const charts = [price, equity, drawdown];
  charts.forEach((c) => c.timeScale().fitContent());
  let syncing = false;
  charts.forEach((source) => {
    source.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (syncing || !range) return;
      syncing = true;
      charts.forEach((c) => { if (c !== source) c.timeScale().setVisibleLogicalRange(range); });
      syncing = false;
    });
  });
})();
