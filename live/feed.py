"""The feed runner: one per deployment, between a market data provider and the channel layer.

What it does, per tick, with no database work and no awaiting on the channel layer:

1. updates the ticker's in-memory state (last price, change since the day's first price,
   5-minute moving average, the last 5 minutes of prices at one point per second, recent
   alerts) that snapshots are built from;
2. runs the shared ``AlertEngine`` (the *default* rule: ``ALERT_THRESHOLD_PCT`` over
   ``ALERT_WINDOW_SECONDS``) and the users' own rules (``RuleBook``);
3. forwards the raw tick to the registered tick sinks that want its ticker;
4. marks the ticker dirty for the publisher.

A separate publisher task sends at most one ``live.tick`` per ticker per
``FEED_PUBLISH_INTERVAL`` slot (leading and trailing edge: a quiet ticker's tick goes out at
once, a burst becomes one message with the latest price at the start of the next slot). Alerts and
provider status are sent as they happen and are never coalesced. Alerts are stored through
a bounded queue drained by a writer task in batches (one INSERT per batch, in a worker
thread), so a slow database delays storage, never the feed.

Users' rules, cheaply: rules with the same ticker, threshold and window share one detector
whatever the number of users holding them, so the cost per tick is one detector update per
*distinct* rule of that ticker (zero for tickers without user rules). When a shared detector
fires, one alert row is stored per owner and one message, naming the owners, goes to the
ticker group; each hub delivers it only to its owners' sockets. Rules are reloaded from the
database every ``rules_refresh`` seconds and at once on a ``feed.rules_changed`` message;
detectors of unchanged rules keep their window across reloads.

Tick sinks (``FEED_TICK_SINKS``, dotted paths of classes or factories called without
arguments) follow this contract::

    class MySink:
        async def start(self) -> None: ...          # once, before the first tick
        def tickers(self) -> set[str]: ...          # polled every second
        async def on_tick(self, tick: Tick) -> None: ...
        async def stop(self) -> None: ...           # once, when the feed stops

The runner adds each sink's ``tickers()`` to its provider subscription and awaits
``on_tick`` for every raw, uncoalesced tick of those tickers, in arrival order, inline in the
feed loop: ``on_tick`` must return quickly (hand long work to a task or a queue). A sink that
raises is logged and keeps receiving ticks; a sink whose ``start`` raises is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from tradepulse.alerts import AlertEngine, SpikeAlert, SpikeDetector
from tradepulse.market import (
    Backoff,
    MarketDataProvider,
    ProviderState,
    ProviderStatus,
    Tick,
    create_provider,
)

from .protocol import (
    CONTROL_CHANNEL,
    INTEREST_TTL_SECONDS,
    STATUS_GROUP,
    dumps,
    empty_snapshot,
    ticker_group,
)
from .selectors import UserRule
from .tasks import cancel_all

logger = logging.getLogger(__name__)

HISTORY_SECONDS = 300
RECENT_ALERTS = 20


@runtime_checkable
class TickSink(Protocol):
    """Receives raw ticks from the feed runner; see the module docstring for the contract."""

    async def start(self) -> None: ...

    def tickers(self) -> set[str]: ...

    async def on_tick(self, tick: Tick) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FeedConfig:
    publish_interval: float = 0.1
    threshold_pct: float = 2.0
    window_seconds: float = 60.0
    average_seconds: float = 300.0
    subscription_interval: float = 1.0
    rules_refresh: float = 10.0
    interest_ttl: float = INTEREST_TTL_SECONDS
    alert_queue_size: int = 10_000
    alert_batch_size: int = 500
    # How long the provider waits for the first watch list, so that a finite source (a
    # replay) does not run before the client that started the feed has subscribed.
    start_wait: float = 2.0


class TickerState:
    """What the feed remembers of one ticker, for tick messages and snapshots."""

    __slots__ = (
        "alerts",
        "day",
        "dirty",
        "history",
        "last_published",
        "moving_average",
        "open_price",
        "price",
        "ticker",
        "timestamp",
        "volume",
    )

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self.price: float | None = None
        self.timestamp: datetime | None = None
        self.volume: float | None = None
        self.moving_average: float | None = None
        self.day: int | None = None
        self.open_price: float | None = None
        # [epoch second, price]: the last price of each second, 5 minutes of them.
        self.history: deque[list[float]] = deque()
        # (owners or None for the global rule, alert message)
        self.alerts: deque[tuple[frozenset[int] | None, dict[str, Any]]] = deque(
            maxlen=RECENT_ALERTS
        )
        self.dirty = False
        self.last_published = -1e18

    def update(self, tick: Tick) -> None:
        ts = tick.timestamp
        day = ts.toordinal()
        if day != self.day:
            # change_pct is measured from the first price of the UTC day.
            self.day = day
            self.open_price = tick.price
        self.price = tick.price
        self.timestamp = ts
        self.volume = tick.volume
        second = int(ts.timestamp())
        history = self.history
        if history and history[-1][0] == second:
            history[-1][1] = tick.price
        elif not history or second > history[-1][0]:
            history.append([second, tick.price])
            cutoff = second - HISTORY_SECONDS
            while history[0][0] < cutoff:
                history.popleft()

    @property
    def change_pct(self) -> float | None:
        if self.price is None or not self.open_price:
            return None
        return (self.price / self.open_price - 1.0) * 100.0

    def tick_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "tick",
            "ticker": self.ticker,
            "price": self.price,
            "change_pct": self.change_pct,
            "moving_average": self.moving_average,
            "timestamp": self.timestamp.isoformat(timespec="microseconds")
            if self.timestamp
            else None,
        }
        if self.volume is not None:
            message["volume"] = self.volume
        return message

    def snapshot(self, seq: int, status: dict[str, Any] | None) -> dict[str, Any]:
        data = self.tick_message()
        del data["type"]
        data["seq"] = seq
        data["history"] = [{"time": int(s), "price": p} for s, p in self.history]
        data["alerts"] = [
            {"users": sorted(owners) if owners is not None else None, "alert": alert}
            for owners, alert in self.alerts
        ]
        data["status"] = status
        return data


class RuleBook:
    """Users' own alert rules, one shared ``SpikeDetector`` per distinct rule of a ticker."""

    def __init__(self) -> None:
        # ticker -> (threshold, window) -> [detector, owners]
        self._rules: dict[str, dict[tuple[float, float], tuple[SpikeDetector, frozenset[int]]]]
        self._rules = {}

    @property
    def tickers(self) -> set[str]:
        return set(self._rules)

    def replace(self, rules: Iterable[UserRule]) -> None:
        grouped: dict[str, dict[tuple[float, float], set[int]]] = {}
        for rule in rules:
            grouped.setdefault(rule.ticker, {}).setdefault(
                (rule.threshold, rule.window), set()
            ).add(rule.user_id)
        fresh: dict[str, dict[tuple[float, float], tuple[SpikeDetector, frozenset[int]]]] = {}
        for ticker, by_rule in grouped.items():
            old = self._rules.get(ticker, {})
            fresh[ticker] = {}
            for key, owners in by_rule.items():
                try:
                    detector = old[key][0] if key in old else SpikeDetector(ticker, *key)
                except ValueError:
                    logger.warning("ignoring invalid alert rule %s %s", ticker, key)
                    continue
                fresh[ticker][key] = (detector, frozenset(owners))
        self._rules = fresh

    def process(self, tick: Tick) -> list[tuple[SpikeAlert, frozenset[int]]]:
        by_rule = self._rules.get(tick.ticker)
        if not by_rule:
            return []
        fired = []
        for detector, owners in by_rule.values():
            alert = detector.update(tick.price, tick.timestamp)
            if alert is not None:
                fired.append((alert, owners))
        return fired


RulesLoader = Callable[[], Awaitable[Sequence[UserRule]]]
AlertWriter = Callable[[list[tuple[SpikeAlert, int | None]]], Awaitable[Any]]


async def load_rules_from_db() -> Sequence[UserRule]:
    from channels.db import database_sync_to_async

    from .selectors import alert_rules_all

    return await database_sync_to_async(alert_rules_all)()


async def write_alerts_to_db(batch: list[tuple[SpikeAlert, int | None]]) -> int:
    from channels.db import database_sync_to_async

    from .services import alerts_store

    return await database_sync_to_async(alerts_store)(batch)


class FeedRunner:
    """Runs one provider through the alert engine and publishes to the channel layer.

    Contract: ``run()`` works until ``stop()`` (or cancellation) and never ends because of
    a failure of the provider, the channel layer, the database or a sink: each is logged
    and retried. The runner subscribes the provider to the union of the tickers hubs watch
    (``feed.watch`` messages, forgotten after ``interest_ttl`` without refresh), the tickers
    of the sinks and the tickers with users' rules; it answers ``feed.snapshot`` requests.
    ``snapshot(ticker)`` and ``state(ticker)`` may be read from the same event loop.
    """

    def __init__(
        self,
        provider: MarketDataProvider,
        layer,
        *,
        config: FeedConfig | None = None,
        sinks: Sequence[TickSink] = (),
        rules_loader: RulesLoader | None = load_rules_from_db,
        alert_writer: AlertWriter | None = write_alerts_to_db,
    ) -> None:
        self.provider = provider
        self.layer = layer
        self.config = config or FeedConfig()
        self.engine = AlertEngine(
            self.config.threshold_pct / 100.0,
            self.config.window_seconds,
            average_window=self.config.average_seconds,
        )
        self.rules = RuleBook()
        self.sinks = list(sinks)
        self._rules_loader = rules_loader
        self._alert_writer = alert_writer
        self._states: dict[str, TickerState] = {}
        self._interests: dict[str, tuple[frozenset[str], float]] = {}
        self._sink_tickers: dict[str, list[TickSink]] = {}
        self._active_sinks: list[TickSink] = []
        self._dirty: set[str] = set()
        self._urgent: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        self._rules_changed = asyncio.Event()
        self._subscription_changed = asyncio.Event()
        self._first_interest = asyncio.Event()
        self._alert_queue: asyncio.Queue[tuple[SpikeAlert, int | None]] = asyncio.Queue(
            self.config.alert_queue_size
        )
        self._stopped = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.seq = 0
        self.status: dict[str, Any] | None = None
        # Counters for logs, tests and the benchmark.
        self.ticks_received = 0
        self.ticks_published = 0
        self.alerts_raised = 0
        self.alerts_dropped = 0
        self.alerts_stored = 0

    # -- public ---------------------------------------------------------------------------

    def state(self, ticker: str) -> TickerState | None:
        return self._states.get(ticker)

    def snapshot(self, ticker: str) -> dict[str, Any]:
        state = self._states.get(ticker)
        if state is None or state.price is None:
            snap = empty_snapshot(ticker)
            snap["seq"] = self.seq
            snap["status"] = self.status
            return snap
        return state.snapshot(self.seq, self.status)

    def watch(self, hub: str, tickers: Iterable[str]) -> None:
        """Record that ``hub`` watches ``tickers`` (its full set) for ``interest_ttl``."""
        watched = frozenset(tickers)
        self._interests[hub] = (watched, time.monotonic() + self.config.interest_ttl)
        self._subscription_changed.set()
        if watched:
            self._first_interest.set()

    async def run(self) -> None:
        self._stopped.clear()
        for sink in self.sinks:
            try:
                await sink.start()
            except Exception:
                logger.exception("tick sink %r failed to start; it is left out", sink)
            else:
                self._active_sinks.append(sink)
        if self._rules_loader is not None:
            await self._reload_rules()
        self._refresh_sinks()
        await self._apply_subscription()
        self._tasks = [
            asyncio.create_task(self._consume(), name="feed-consume"),
            asyncio.create_task(self._publish_loop(), name="feed-publish"),
            asyncio.create_task(self._control_loop(), name="feed-control"),
            asyncio.create_task(self._subscription_loop(), name="feed-subscriptions"),
            asyncio.create_task(self._alert_writer_loop(), name="feed-alert-writer"),
        ]
        if self._rules_loader is not None:
            self._tasks.append(asyncio.create_task(self._rules_loop(), name="feed-rules"))
        # Hubs answer with their watch lists, so a restarted feed relearns them at once.
        await self._layer_call(self.layer.group_send, STATUS_GROUP, {"type": "live.hello"})
        try:
            await self._stopped.wait()
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        self._stopped.set()

    # -- the tick path ---------------------------------------------------------------------

    async def _consume(self) -> None:
        if not self.wanted_tickers():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.start_wait):
                    await self._first_interest.wait()
        while not self._stopped.is_set():
            try:
                async for item in self.provider.ticks():
                    if isinstance(item, Tick):
                        self._on_tick(item)
                        sinks = self._sink_tickers.get(item.ticker)
                        if sinks:
                            await self._to_sinks(sinks, item)
                    else:
                        self._on_status(item)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("feed: provider stream failed; restarting it")
                await asyncio.sleep(1.0)
        if not self._stopped.is_set():
            # A finite source (a replay without loop) ran out; snapshots stay available.
            self._on_status(
                ProviderStatus(
                    provider=self.provider.name,
                    state=ProviderState.STALE,
                    reason="the price stream has ended",
                    timestamp=datetime.now(UTC),
                )
            )

    def _on_tick(self, tick: Tick) -> None:
        self.ticks_received += 1
        ticker = tick.ticker
        state = self._states.get(ticker)
        if state is None:
            state = self._states[ticker] = TickerState(ticker)
        if state.timestamp is not None and tick.timestamp < state.timestamp:
            return  # late tick: the engine would drop it too; keep the newer price
        state.update(tick)
        alert = self.engine.process(tick)
        state.moving_average = self.engine.average(ticker)
        if alert is not None:
            self._raise_alert(state, alert, None)
        for user_alert, owners in self.rules.process(tick):
            self._raise_alert(state, user_alert, owners)
        if not state.dirty:
            state.dirty = True
            self._dirty.add(ticker)
            self._wake.set()

    def _raise_alert(self, state: TickerState, alert: SpikeAlert, owners: frozenset[int] | None):
        self.alerts_raised += 1
        self.seq += 1
        message = alert.to_wire()
        message = {"type": "alert", **message, "scope": "global" if owners is None else "user"}
        state.alerts.append((owners, message))
        self._urgent.append(
            (
                ticker_group(state.ticker),
                {
                    "type": "live.alert",
                    "ticker": state.ticker,
                    "seq": self.seq,
                    "users": sorted(owners) if owners is not None else None,
                    "text": dumps(message),
                },
            )
        )
        self._wake.set()
        for user_id in owners if owners is not None else (None,):
            try:
                self._alert_queue.put_nowait((alert, user_id))
            except asyncio.QueueFull:
                self.alerts_dropped += 1
                if self.alerts_dropped in (1, 10, 100) or self.alerts_dropped % 1000 == 0:
                    logger.warning(
                        "feed: alert store queue full, %d alert(s) not stored",
                        self.alerts_dropped,
                    )

    def _on_status(self, status: ProviderStatus) -> None:
        self.status = {"type": "status", **status.to_wire()}
        self._urgent.append((STATUS_GROUP, {"type": "live.status", "text": dumps(self.status)}))
        self._wake.set()

    async def _to_sinks(self, sinks: list[TickSink], tick: Tick) -> None:
        for sink in sinks:
            try:
                await sink.on_tick(tick)
            except Exception:
                logger.exception("tick sink %r failed on %s", sink, tick.ticker)

    # -- publishing ------------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        # Time is cut into slots of one interval. A ticker not yet published in the current
        # slot goes out at once (a steady stream at the interval's pace waits for nothing);
        # further ticks in the slot wait for the next slot's start and go out as one message
        # with the latest price. So a ticker gets at most one message per slot.
        interval = self.config.publish_interval
        loop = asyncio.get_running_loop()
        while True:
            timeout = None
            if self._dirty and not self._urgent:
                timeout = (loop.time() // interval + 1) * interval - loop.time()
            if timeout is None or timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
            self._wake.clear()
            while self._urgent:
                group, message = self._urgent.popleft()
                if message["type"] == "live.alert":
                    # The spike's price goes out before its alert, whatever the slot.
                    state = self._states.get(message["ticker"])
                    if state is not None and state.dirty:
                        await self._publish_tick(state, loop.time() // interval)
                await self._layer_call(self.layer.group_send, group, message)
            slot = loop.time() // interval
            for ticker in list(self._dirty):
                state = self._states[ticker]
                if state.last_published < slot:
                    await self._publish_tick(state, slot)

    async def _publish_tick(self, state: TickerState, slot: float) -> None:
        state.dirty = False
        self._dirty.discard(state.ticker)
        state.last_published = slot
        self.seq += 1
        self.ticks_published += 1
        await self._layer_call(
            self.layer.group_send,
            ticker_group(state.ticker),
            {
                "type": "live.tick",
                "ticker": state.ticker,
                "seq": self.seq,
                "text": dumps(state.tick_message()),
            },
        )

    async def _layer_call(self, method, *args) -> bool:
        try:
            await method(*args)
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A full or unreachable layer loses this message; clients resync from snapshots.
            logger.warning("feed: channel layer %s failed: %s", method.__name__, exc)
            return False

    # -- control: watch lists, snapshots, rule changes ------------------------------------

    async def _control_loop(self) -> None:
        # Same delays as before a Backoff: 1, 2, 4, 8, 10, 10 ... s, no jitter.
        backoff = Backoff(initial=1.0, maximum=10.0, jitter=0.0)
        while True:
            try:
                message = await self.layer.receive(CONTROL_CHANNEL)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("feed: cannot read %s", CONTROL_CHANNEL)
                await asyncio.sleep(backoff.next())
                continue
            try:
                await self._handle_control(message)
            except Exception:
                logger.exception("feed: bad control message %r", message)

    async def _handle_control(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "feed.watch":
            self.watch(str(message["hub"]), [str(t) for t in message.get("tickers", ())])
            await self._apply_subscription()
        elif kind == "feed.snapshot":
            hub = str(message["hub"])
            for ticker in message.get("tickers", ()):
                await self._layer_call(
                    self.layer.send,
                    hub,
                    {"type": "live.snapshot", "ticker": ticker, "snapshot": self.snapshot(ticker)},
                )
        elif kind == "feed.rules_changed":
            self._rules_changed.set()
        else:
            logger.warning("feed: unknown control message type %r", kind)

    # -- subscription, rules, storage -----------------------------------------------------

    def _refresh_sinks(self) -> None:
        targets: dict[str, list[TickSink]] = {}
        for sink in self._active_sinks:
            try:
                tickers = sink.tickers()
            except Exception:
                logger.exception("tick sink %r failed in tickers()", sink)
                continue
            for ticker in tickers:
                targets.setdefault(ticker, []).append(sink)
        self._sink_tickers = targets

    def wanted_tickers(self) -> set[str]:
        now = time.monotonic()
        for hub, (_, expires) in list(self._interests.items()):
            if expires < now:
                del self._interests[hub]
        wanted: set[str] = set(self._sink_tickers) | self.rules.tickers
        for tickers, _ in self._interests.values():
            wanted |= tickers
        return wanted

    async def _apply_subscription(self) -> None:
        wanted = self.wanted_tickers()
        current = set(self.provider.tickers)
        if wanted - current:
            await self.provider.subscribe(wanted - current)
        if current - wanted:
            await self.provider.unsubscribe(current - wanted)

    async def _subscription_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.subscription_interval):
                    await self._subscription_changed.wait()
            self._subscription_changed.clear()
            try:
                self._refresh_sinks()
                await self._apply_subscription()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("feed: updating the subscription failed")

    async def _reload_rules(self) -> None:
        assert self._rules_loader is not None
        try:
            self.rules.replace(await self._rules_loader())
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("feed: loading alert rules failed; keeping the previous ones")

    async def _rules_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.rules_refresh):
                    await self._rules_changed.wait()
            self._rules_changed.clear()
            await self._reload_rules()
            self._subscription_changed.set()

    async def _alert_writer_loop(self) -> None:
        while True:
            batch = [await self._alert_queue.get()]
            await self._write_batch(batch)

    async def _write_batch(self, batch: list[tuple[SpikeAlert, int | None]]) -> None:
        while len(batch) < self.config.alert_batch_size and not self._alert_queue.empty():
            batch.append(self._alert_queue.get_nowait())
        if self._alert_writer is None:
            return
        try:
            await self._alert_writer(batch)
            self.alerts_stored += len(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("feed: storing %d alert(s) failed", len(batch))

    async def _shutdown(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.provider.close()
        # Alerts raised before the stop are still stored.
        while not self._alert_queue.empty():
            await self._write_batch([self._alert_queue.get_nowait()])
        for sink in self._active_sinks:
            try:
                await sink.stop()
            except Exception:
                logger.exception("tick sink %r failed to stop", sink)
        self._active_sinks = []


def provider_from_settings() -> MarketDataProvider:
    """Build the provider named by ``MARKET_DATA_PROVIDER`` with its options from settings."""
    from django.conf import settings

    name = settings.MARKET_DATA_PROVIDER.strip().lower()
    options: dict[str, Any] = {}
    if name == "simulated":
        options = {
            "rate": settings.MARKET_SIM_RATE,
            "jump_interval": settings.MARKET_SIM_JUMP_INTERVAL,
        }
        if settings.MARKET_SIM_SEED is not None:
            options["seed"] = settings.MARKET_SIM_SEED
    elif name == "replay":
        options = {
            "path": settings.MARKET_REPLAY_FILE,
            "speed": settings.MARKET_REPLAY_SPEED,
            "loop": settings.MARKET_REPLAY_LOOP,
            "rebase": settings.MARKET_REPLAY_REBASE,
        }
        if not settings.MARKET_REPLAY_FILE:
            raise ValueError("MARKET_DATA_PROVIDER=replay needs MARKET_REPLAY_FILE (a tick CSV)")
    elif name == "yahoo":
        options = {"mode": settings.YAHOO_MODE}
        if settings.YAHOO_STREAM_URL:
            options["url"] = settings.YAHOO_STREAM_URL
    elif name == "websocket":
        options = {"url": settings.MARKET_WEBSOCKET_URL}
    return create_provider(name, **options)


def sinks_from_settings() -> list[TickSink]:
    from django.conf import settings
    from django.utils.module_loading import import_string

    sinks = []
    for path in settings.FEED_TICK_SINKS:
        target = import_string(path)
        # A class or a factory function is called; an object with on_tick is used as is.
        sink = target() if isinstance(target, type) or not hasattr(target, "on_tick") else target
        sinks.append(sink)
    return sinks


def feed_from_settings(layer=None) -> FeedRunner:
    """The deployment's feed runner: provider, alert defaults and sinks from settings."""
    from channels.layers import get_channel_layer
    from django.conf import settings

    return FeedRunner(
        provider_from_settings(),
        layer if layer is not None else get_channel_layer(),
        config=FeedConfig(
            publish_interval=settings.FEED_PUBLISH_INTERVAL,
            threshold_pct=settings.ALERT_THRESHOLD_PCT,
            window_seconds=settings.ALERT_WINDOW_SECONDS,
            average_seconds=settings.MOVING_AVERAGE_SECONDS,
        ),
        sinks=sinks_from_settings(),
    )
