// Live monitor: one WebSocket for every watched ticker, a card (figures + chart) per ticker,
// an alert list, automatic reconnect with backoff and a resync from each snapshot.
(function () {
  "use strict";

  const LC = window.LightweightCharts;
  const cardsEl = document.getElementById("cards");
  const alertsEl = document.getElementById("alerts");
  const alertsEmpty = document.getElementById("alerts-empty");
  const connEl = document.getElementById("connection");
  const connText = document.getElementById("connection-text");
  const providerEl = document.getElementById("provider");
  const formError = document.getElementById("form-error");
  const input = document.getElementById("ticker-input");
  const template = document.getElementById("card-template");
  const TICKER_RE = /^\^?[A-Z0-9]{1,12}(?:[.\-][A-Z0-9]{1,12})*(?:=[A-Z]{1,3})?$/;
  const MAX_ALERTS = 100;
  const HISTORY_POINTS = 300; // the snapshot's 5 minutes at one point per second

  const cards = new Map(); // ticker -> card state
  const seenAlerts = new Set();
  let socket = null;
  let retry = 0;
  let retryTimer = null;
  let stopped = false;

  function setConnection(state, text) {
    connEl.dataset.state = state;
    connText.textContent = text;
  }

  function fmtPrice(value) {
    if (value === null || value === undefined) return "—";
    return value >= 1 ? value.toFixed(2) : value.toFixed(4);
  }

  function fmtPct(value) {
    if (value === null || value === undefined) return "—";
    return (value >= 0 ? "+" : "") + value.toFixed(2) + "%";
  }

  function toSeconds(iso) {
    return Math.floor(Date.parse(iso) / 1000);
  }

  // -- cards --------------------------------------------------------------------------

  function createCard(ticker) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.ticker = ticker;
    node.querySelector(".ticker").textContent = ticker;
    node.querySelector(".close").addEventListener("click", () => removeTicker(ticker));
    cardsEl.appendChild(node);
    const chartEl = node.querySelector(".chart");
    const chart = LC.createChart(chartEl, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#8b98a5" },
      grid: { vertLines: { color: "#1f2a33" }, horzLines: { color: "#1f2a33" } },
      timeScale: { timeVisible: true, secondsVisible: true },
      rightPriceScale: { borderColor: "#26323d" },
    });
    const series = chart.addSeries(LC.LineSeries, { color: "#4c9aff", lineWidth: 2 });
    const markers = LC.createSeriesMarkers(series, []);
    const card = {
      ticker, node, chart, series, markers, markerList: [], lastTime: 0, lastPrice: null, points: 0,
      price: node.querySelector(".price"),
      change: node.querySelector(".change"),
      average: node.querySelector(".average"),
      updated: node.querySelector(".updated"),
      trades: node.querySelector(".trades tbody"),
    };
    cards.set(ticker, card);
    loadTrades(card);
    return card;
  }

  function showFigures(card, data) {
    if (data.price !== null && data.price !== undefined) {
      card.price.textContent = fmtPrice(data.price);
      if (card.lastPrice !== null && data.price !== card.lastPrice) {
        const cls = data.price > card.lastPrice ? "flash-up" : "flash-down";
        card.price.classList.remove("flash-up", "flash-down");
        void card.price.offsetWidth; // restart the animation
        card.price.classList.add(cls);
      }
      card.lastPrice = data.price;
    }
    card.change.textContent = fmtPct(data.change_pct);
    card.change.className = "change " + (data.change_pct > 0 ? "up" : data.change_pct < 0 ? "down" : "");
    card.average.textContent = fmtPrice(data.moving_average);
    if (data.timestamp) card.updated.textContent = new Date(data.timestamp).toLocaleTimeString();
  }

  function applySnapshot(snapshot) {
    const card = cards.get(snapshot.ticker) || createCard(snapshot.ticker);
    const points = snapshot.history.map((p) => ({ time: p.time, value: p.price }));
    card.series.setData(points);
    card.points = points.length;
    card.lastTime = points.length ? points[points.length - 1].time : 0;
    card.lastPrice = null;
    showFigures(card, snapshot);
    card.markerList = [];
    for (const alert of snapshot.alerts) addAlert(alert);
    if (snapshot.status) showStatus(snapshot.status);
    card.chart.timeScale().fitContent();
  }

  function applyTick(tick) {
    const card = cards.get(tick.ticker);
    if (!card) return;
    showFigures(card, tick);
    const time = toSeconds(tick.timestamp);
    if (time >= card.lastTime) {
      card.series.update({ time, value: tick.price });
      if (time > card.lastTime) card.points += 1;
      card.lastTime = time;
      // Until the chart holds 5 minutes of points, show all of them; then it scrolls.
      if (card.points <= HISTORY_POINTS) card.chart.timeScale().fitContent();
    }
  }

  function removeTicker(ticker) {
    const card = cards.get(ticker);
    if (!card) return;
    card.chart.remove();
    card.node.remove();
    cards.delete(ticker);
    send({ unsubscribe: [ticker] });
    if (cards.size === 0 && socket) {
      stopped = true;
      socket.close(1000);
    }
  }

  async function loadTrades(card) {
    try {
      const response = await fetch(
        "/api/trades/?page_size=5&ticker=" + encodeURIComponent(card.ticker),
        { credentials: "same-origin", headers: { Accept: "application/json" } },
      );
      if (!response.ok) return;
      const body = await response.json();
      card.trades.replaceChildren();
      for (const trade of body.results || []) {
        const row = document.createElement("tr");
        for (const text of [new Date(trade.timestamp).toLocaleString(), trade.side,
          trade.quantity, "@ " + trade.price]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        }
        card.trades.appendChild(row);
      }
      if (!card.trades.children.length) {
        card.trades.innerHTML = "<tr><td>No trades for this ticker.</td></tr>";
      }
    } catch (err) {
      // The trades list is a convenience; the live view works without it.
    }
  }

  // -- alerts and status ---------------------------------------------------------------

  function addAlert(alert) {
    const key = [alert.ticker, alert.timestamp, alert.direction, alert.scope].join("|");
    const card = cards.get(alert.ticker);
    if (card) {
      const time = toSeconds(alert.timestamp);
      if (!card.markerList.some((m) => m.id === key)) {
        card.markerList.push({
          id: key, time,
          position: alert.direction === "up" ? "belowBar" : "aboveBar",
          shape: alert.direction === "up" ? "arrowUp" : "arrowDown",
          color: alert.direction === "up" ? "#26a69a" : "#ef5350",
          text: (alert.change_pct >= 0 ? "+" : "") + alert.change_pct.toFixed(1) + "%",
        });
        card.markerList.sort((a, b) => a.time - b.time);
        card.markers.setMarkers(card.markerList);
      }
    }
    if (seenAlerts.has(key)) return;
    seenAlerts.add(key);
    const item = document.createElement("li");
    item.className = alert.direction;
    item.dataset.ticker = alert.ticker;
    const when = document.createElement("time");
    when.dateTime = alert.timestamp;
    when.textContent = new Date(alert.timestamp).toLocaleTimeString() +
      (alert.scope === "user" ? " · your rule" : "");
    const text = document.createElement("span");
    text.textContent = alert.message;
    item.append(when, text);
    alertsEl.prepend(item);
    while (alertsEl.children.length > MAX_ALERTS) alertsEl.lastElementChild.remove();
    alertsEmpty.hidden = true;
  }

  function showStatus(status) {
    providerEl.dataset.state = status.state;
    providerEl.textContent = status.provider + ": " + status.state;
    providerEl.title = status.reason;
  }

  // -- the socket ----------------------------------------------------------------------

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    clearTimeout(retryTimer);
    const tickers = [...cards.keys()];
    if (!tickers.length) return;
    stopped = false;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/stocks/" + encodeURIComponent(tickers[0]) + "/");
    socket = ws;
    setConnection(retry ? "reconnecting" : "connecting", retry ? "Reconnecting…" : "Connecting…");
    ws.onopen = () => {
      retry = 0;
      setConnection("open", "Live");
      const rest = [...cards.keys()].filter((t) => t !== tickers[0]);
      if (rest.length) send({ subscribe: rest });
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      switch (message.type) {
        case "snapshot": applySnapshot(message); break;
        case "tick": applyTick(message); break;
        case "alert": addAlert(message); break;
        case "status": showStatus(message); break;
        case "error": handleError(message); break;
        default: break;
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4401) {
        setConnection("closed", "Signed out: log in again");
        return;
      }
      if (stopped || !cards.size) {
        setConnection("idle", "Not connected");
        return;
      }
      // Any other close (the server restarting, a slow-client close 4408, too many open
      // sockets 4429): exponential backoff with jitter, 0.5 s, 1 s, 2 s ... up to 15 s; the
      // new socket starts from fresh snapshots.
      const delay = Math.min(15000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
      retry += 1;
      setConnection("reconnecting", "Disconnected, retrying in " + Math.round(delay / 1000) + " s");
      retryTimer = setTimeout(connect, delay);
    };
  }

  function handleError(message) {
    formError.textContent = message.reason;
    if (message.error === "invalid_ticker") {
      const named = Array.isArray(message.tickers) ? message.tickers : [message.ticker];
      const bad = new Set(named.filter((t) => typeof t === "string").map((t) => t.toUpperCase()));
      for (const ticker of [...cards.keys()]) {
        if (bad.has(ticker) || (message.code === 4400 && !TICKER_RE.test(ticker))) {
          cards.get(ticker).chart.remove();
          cards.get(ticker).node.remove();
          cards.delete(ticker);
        }
      }
    }
  }

  function addTicker(raw) {
    const ticker = raw.trim().toUpperCase();
    formError.textContent = "";
    if (!TICKER_RE.test(ticker)) {
      formError.textContent = "'" + raw + "' is not a valid ticker symbol.";
      return;
    }
    if (cards.has(ticker)) return;
    createCard(ticker);
    if (socket && socket.readyState === WebSocket.OPEN) {
      send({ subscribe: [ticker] });
    } else if (!socket) {
      retry = 0;
      connect();
    }
  }

  document.getElementById("connect-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addTicker(input.value);
    input.value = "";
  });

  const initial = JSON.parse(document.getElementById("initial-tickers").textContent);
  for (const ticker of initial) addTicker(ticker);
})();
