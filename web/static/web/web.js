/* The pages' small scripts: live prices over ws/stocks/, and the backtest forms' source switch.

   Any element with data-live-price="TICKER" shows that ticker's latest price; one socket per
   page subscribes to every ticker named in #live-tickers and on the page. An element with
   hx-trigger="live-refresh" is asked to re-render (at most every 2 s) after prices moved, so
   figures computed on the server (market value, P&L) follow the price. */
(function () {
  "use strict";

  function liveTickers() {
    const found = new Set();
    const listed = document.getElementById("live-tickers");
    if (listed) JSON.parse(listed.textContent).forEach((t) => found.add(t));
    document.querySelectorAll("[data-live-price]").forEach((el) => found.add(el.dataset.livePrice));
    return [...found].filter(Boolean);
  }

  const prices = {};
  let socket = null, retry = 1000, subscribed = new Set(), refreshTimer = null, moved = false;

  function setState(state) {
    const el = document.getElementById("live-state");
    if (el) el.dataset.state = state;
  }

  function show(ticker) {
    const price = prices[ticker];
    if (price == null) return;
    document.querySelectorAll('[data-live-price="' + CSS.escape(ticker) + '"]').forEach((el) => {
      const previous = parseFloat(el.textContent.replace(/,/g, ""));
      const text = price.toFixed(2);
      if (el.textContent !== text) {
        el.textContent = text;
        if (!Number.isNaN(previous) && previous !== price) {
          el.classList.remove("flash-up", "flash-down");
          void el.offsetWidth;
          el.classList.add(price > previous ? "flash-up" : "flash-down");
        }
      }
    });
  }

  function scheduleRefresh() {
    moved = true;
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (!moved || !window.htmx) return;
      moved = false;
      document.querySelectorAll('[hx-trigger~="live-refresh"]').forEach((el) => htmx.trigger(el, "live-refresh"));
    }, 2000);
  }

  function sync() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const wanted = new Set(liveTickers().slice(0, 20));
    const add = [...wanted].filter((t) => !subscribed.has(t));
    const drop = [...subscribed].filter((t) => !wanted.has(t));
    if (add.length) socket.send(JSON.stringify({ subscribe: add }));
    if (drop.length) socket.send(JSON.stringify({ unsubscribe: drop }));
    subscribed = wanted;
    wanted.forEach(show);
  }

  function connect() {
    const tickers = liveTickers();
    if (!tickers.length) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    setState("connecting");
    socket = new WebSocket(scheme + "://" + location.host + "/ws/stocks/" + encodeURIComponent(tickers[0]) + "/");
    subscribed = new Set([tickers[0]]);
    socket.onopen = () => { retry = 1000; setState("open"); sync(); };
    socket.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if ((m.type === "tick" || m.type === "snapshot") && m.price != null) {
        prices[m.ticker] = m.price;
        show(m.ticker);
        if (m.type === "tick") scheduleRefresh();
      }
    };
    socket.onclose = () => {
      setState("closed");
      socket = null;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  // Swapped-in content (a refreshed table) shows the latest prices at once and may name
  // tickers the socket does not watch yet.
  document.addEventListener("htmx:afterSettle", () => {
    if (socket) sync(); else connect();
    Object.keys(prices).forEach(show);
    setupSources(document);
  });

  // Backtest and sweep forms: show only the fields of the chosen source of bars.
  function setupSources(root) {
    root.querySelectorAll("form.sourced").forEach((form) => {
      form.classList.add("js");
      const update = () => {
        const chosen = (form.querySelector('input[name="source"]:checked') || {}).value || "synthetic";
        form.querySelectorAll(".source-fields").forEach((box) => {
          const on = box.dataset.source === chosen;
          box.classList.toggle("shown", on);
          box.querySelectorAll("input, select").forEach((input) => { input.disabled = !on; });
        });
      };
      if (!form.dataset.sourced) {
        form.dataset.sourced = "1";
        form.addEventListener("change", (e) => { if (e.target.name === "source") update(); });
      }
      update();
    });
  }

  setupSources(document);
  connect();
})();
