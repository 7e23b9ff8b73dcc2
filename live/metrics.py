"""Prometheus metrics of the live app (prometheus-client; correct in multiprocess mode when
``PROMETHEUS_MULTIPROC_DIR`` is set, as the served processes run it).

Hot paths (the feed's tick loop, the hubs' fan-out) count in plain integers and add them
here about once a second, so a message costs no metric update of its own.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WEBSOCKET_CLIENTS = Gauge(
    "tradepulse_live_websocket_clients",
    "Open WebSocket connections of the live monitor.",
    multiprocess_mode="livesum",
)
TICKS_RECEIVED = Counter(
    "tradepulse_live_ticks_received", "Price ticks the feed received from its provider."
)
TICKS_PUBLISHED = Counter(
    "tradepulse_live_ticks_published", "Coalesced tick messages the feed published."
)
MESSAGES_SENT = Counter(
    "tradepulse_live_messages_sent", "Messages written to WebSocket clients by the hubs."
)
ALERTS_RAISED = Counter("tradepulse_live_alerts_raised", "Alerts the feed raised.")
ALERTS_STORED = Counter("tradepulse_live_alerts_stored", "Alerts stored in the database.")
ALERTS_FAILED = Counter(
    "tradepulse_live_alerts_failed",
    "Alerts that were not stored: reason overflow (the retry queue was full), rejected "
    "(the database refused the rows) or shutdown (still queued when the feed stopped).",
    ["reason"],
)
ALERT_QUEUE = Gauge(
    "tradepulse_live_alert_queue",
    "Alerts waiting to be stored (retried while the database is away).",
    multiprocess_mode="livesum",
)
FEED_LEADER = Gauge(
    "tradepulse_live_feed_leader",
    "1 in the feed process that holds the lease and publishes, 0 in a standby.",
    multiprocess_mode="liveall",
)
LOOP_RESTARTS = Counter(
    "tradepulse_live_loop_restarts", "Background loops restarted after a crash.", ["loop"]
)
LAYER_ERRORS = Counter(
    "tradepulse_live_channel_layer_errors", "Failed channel-layer calls.", ["side"]
)
SLOW_CLIENTS_CLOSED = Counter(
    "tradepulse_live_slow_clients_closed",
    "WebSocket clients closed because they did not read their messages.",
)
