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
the bounded retry queue of :mod:`live.alert_store`, so a slow or absent database delays
storage, never the feed. Every ``FEED_HEARTBEAT_SECONDS`` the feed publishes a heartbeat
(with the provider's status) that hubs watch to tell their sockets when prices are stale, and
records the latest prices on the price board that :func:`live.selectors.last_price` reads.

Every message goes out through a *publisher* (:class:`live.layer.LayerPublisher` in the
embedded mode, :class:`live.lease.FencedPublisher` in the scaled mode, which publishes only
while this process holds the feed lease) and carries the feed's fencing ``token`` and
``pid``. Each loop runs supervised (:mod:`live.supervision`): a crash is logged and the loop
restarted.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from tradepulse.alerts import AlertEngine, SpikeAlert
from tradepulse.market import Backoff, MarketDataProvider, ProviderState, ProviderStatus, Tick
from tradepulse.timeutil import format_timestamp

from . import metrics
from .alert_store import AlertStore, AlertWriter, write_alerts_to_db
from .layer import LayerClient, LayerPublisher
from .prices import PriceBoard
from .protocol import (
    CONTROL_CHANNEL,
    HEARTBEAT_SECONDS,
    INTEREST_TTL_SECONDS,
    STATUS_GROUP,
    dumps,
    empty_snapshot,
    ticker_group,
)
from .rules import RuleBook, RulesLoader, load_rules_from_db
from .state import TickerState
from .supervision import cancel_all, start_supervised

logger = logging.getLogger(__name__)


@runtime_checkable
class TickSink(Protocol):
    """Receives raw ticks from the feed runner; see the module docstring for the contract."""

    async def start(self) -> None: ...

    def tickers(self) -> set[str]: ...

    async def on_tick(self, tick: Tick) -> None: ...

    async def stop(self) -> None: ...


class Publisher(Protocol):
    token: int

    async def group_send(self, group: str, message: dict[str, Any]) -> bool: ...

    async def send(self, channel: str, message: dict[str, Any]) -> bool: ...


@dataclass(frozen=True, slots=True)
class FeedConfig:
    publish_interval: float = 0.1
    threshold_pct: float = 2.0
    window_seconds: float = 60.0
    average_seconds: float = 300.0
    subscription_interval: float = 1.0
    rules_refresh: float = 10.0
    interest_ttl: float = INTEREST_TTL_SECONDS
    heartbeat_interval: float = HEARTBEAT_SECONDS
    alert_queue_size: int = 10_000
    alert_batch_size: int = 500
    # How long the provider waits for the first watch list, so that a finite source (a
    # replay) does not run before the client that started the feed has subscribed.
    start_wait: float = 2.0


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
        publisher: Publisher | None = None,
        price_board: PriceBoard | None = None,
    ) -> None:
        self.provider = provider
        self.layer = LayerClient(layer, "feed")
        self.publisher: Publisher = publisher or LayerPublisher(self.layer)
        self.config = config or FeedConfig()
        self.engine = AlertEngine(
            self.config.threshold_pct / 100.0,
            self.config.window_seconds,
            average_window=self.config.average_seconds,
        )
        self.rules = RuleBook()
        self.sinks = list(sinks)
        self.alert_store = AlertStore(
            alert_writer,
            capacity=self.config.alert_queue_size,
            batch_size=self.config.alert_batch_size,
        )
        self.price_board = price_board
        self._rules_loader = rules_loader
        self._states: dict[str, TickerState] = {}
        self._interests: dict[str, tuple[frozenset[str], float]] = {}
        self._sink_tickers: dict[str, list[TickSink]] = {}
        self._active_sinks: list[TickSink] = []
        self._dirty: set[str] = set()
        self._priced: set[str] = set()
        self._urgent: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        self._rules_changed = asyncio.Event()
        self._subscription_changed = asyncio.Event()
        self._first_interest = asyncio.Event()
        self._stopped = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.started = False
        self.seq = 0
        self.status: dict[str, Any] | None = None
        # Counters for logs, tests and the benchmark (added to the metrics every heartbeat).
        self.ticks_received = 0
        self.ticks_published = 0
        self.alerts_raised = 0
        self._counted = (0, 0, 0)

    @property
    def alerts_stored(self) -> int:
        return self.alert_store.stored

    @property
    def alerts_dropped(self) -> int:
        return self.alert_store.overflowed

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
        self.started = True
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
        try:
            await self._apply_subscription()
        except Exception:  # the subscription loop tries again within a second
            logger.exception("feed: subscribing the provider failed")
        self._tasks = [
            start_supervised("feed-consume", self._consume),
            start_supervised("feed-publish", self._publish_loop),
            start_supervised("feed-control", self._control_loop),
            start_supervised("feed-subscriptions", self._subscription_loop),
            start_supervised("feed-alert-store", self.alert_store.run),
            start_supervised("feed-heartbeat", self._heartbeat_loop),
        ]
        if self._rules_loader is not None:
            self._tasks.append(start_supervised("feed-rules", self._rules_loop))
        # Hubs answer with their watch lists, so a restarted feed relearns them at once.
        await self.publisher.group_send(STATUS_GROUP, {"type": "live.hello"})
        try:
            await self._stopped.wait()
        finally:
            await self._shutdown()

    def request_stop(self) -> None:
        self._stopped.set()

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
            await self._stopped.wait()

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
        self._priced.add(ticker)
        if not state.dirty:
            state.dirty = True
            self._dirty.add(ticker)
            self._wake.set()

    def _raise_alert(self, state: TickerState, alert: SpikeAlert, owners: frozenset[int] | None):
        self.alerts_raised += 1
        self.seq += 1
        message = alert.to_wire()
        message["timestamp"] = format_timestamp(alert.timestamp)
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
            self.alert_store.put(alert, user_id)

    def _on_status(self, status: ProviderStatus) -> None:
        self.status = {
            "type": "status",
            **status.to_wire(),
            "timestamp": format_timestamp(status.timestamp),
        }
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
                await self.publisher.group_send(group, message)
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
        published = await self.publisher.group_send(
            ticker_group(state.ticker),
            {
                "type": "live.tick",
                "ticker": state.ticker,
                "seq": self.seq,
                "text": dumps(state.tick_message()),
            },
        )
        if published:
            self.ticks_published += 1
        elif not state.dirty:
            # Not published (the layer is away): the latest price goes out in a later slot.
            state.dirty = True
            self._dirty.add(state.ticker)

    async def _heartbeat_loop(self) -> None:
        while True:
            await self.publisher.group_send(
                STATUS_GROUP,
                {"type": "live.heartbeat", "status": dumps(self.status) if self.status else None},
            )
            await self._record_prices()
            self._count_metrics()
            await asyncio.sleep(self.config.heartbeat_interval)

    async def _record_prices(self) -> None:
        if self.price_board is None or not self._priced:
            return
        priced, self._priced = self._priced, set()
        prices = {}
        for ticker in priced:
            state = self._states[ticker]
            if state.price is not None and state.timestamp is not None:
                prices[ticker] = (state.price, state.timestamp)
        try:
            await self.price_board.record(prices)
        except Exception as exc:
            self._priced |= priced
            logger.warning("feed: recording the latest prices failed: %r", exc)

    def _count_metrics(self) -> None:
        received, published, raised = self._counted
        metrics.TICKS_RECEIVED.inc(self.ticks_received - received)
        metrics.TICKS_PUBLISHED.inc(self.ticks_published - published)
        metrics.ALERTS_RAISED.inc(self.alerts_raised - raised)
        self._counted = (self.ticks_received, self.ticks_published, self.alerts_raised)

    # -- control: watch lists, snapshots, rule changes ------------------------------------

    async def _control_loop(self) -> None:
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
                await self.publisher.send(
                    hub,
                    {"type": "live.snapshot", "ticker": ticker, "snapshot": self.snapshot(ticker)},
                )
        elif kind == "feed.rules_changed":
            self._rules_changed.set()
        else:
            logger.warning("feed: unknown control message type %r", kind)

    # -- subscription, rules --------------------------------------------------------------

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

    async def _shutdown(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        self._count_metrics()
        with contextlib.suppress(Exception):
            await self.provider.close()
        # Alerts raised before the stop are still stored (if the database is there).
        await self.alert_store.drain()
        for sink in self._active_sinks:
            try:
                await sink.stop()
            except Exception:
                logger.exception("tick sink %r failed to stop", sink)
        self._active_sinks = []
