"""Users' own alert rules as the feed runs them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from tradepulse.alerts import SpikeAlert, SpikeDetector
from tradepulse.market import Tick

from .selectors import UserRule

logger = logging.getLogger(__name__)

RulesLoader = Callable[[], Awaitable[Sequence[UserRule]]]


class RuleBook:
    """Users' own alert rules, one shared ``SpikeDetector`` per distinct rule of a ticker.

    Rules with the same ticker, threshold and window share one detector whatever the number
    of users holding them, so the cost per tick is one detector update per *distinct* rule of
    that ticker. ``replace`` keeps the detectors (and their windows) of unchanged rules.
    """

    def __init__(self) -> None:
        # ticker -> (threshold, window) -> (detector, owners)
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


async def load_rules_from_db() -> Sequence[UserRule]:
    from channels.db import database_sync_to_async

    from .selectors import alert_rules_all

    return await database_sync_to_async(alert_rules_all)()
