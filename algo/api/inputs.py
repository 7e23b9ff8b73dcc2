"""Input of the algo API and commands: DRF serializers that turn request data into the typed
values of :mod:`algo.params`. Each bad field is named (a 400 through DRF, a ``--field`` error
in the commands); unknown fields are ignored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers

from algo.params import (
    BarsSource,
    CsvBars,
    PaperSessionParams,
    StrategyParams,
    SyntheticBars,
    TickerBars,
)
from tradepulse import broker
from tradepulse.backtest import MovingAverageCrossover
from tradepulse.broker import MAX_QUANTITY
from tradepulse.errors import SettingError
from tradepulse.papertrading import parse_interval
from tradepulse.symbols import InvalidTicker, normalize_ticker
from tradepulse.trades import DECIMAL_PLACES, MAX_DIGITS

# Longer windows than any allowed series of bars are typos.
MAX_WINDOW = 10_000_000
MAX_SEED = 2**63 - 1


class StrategyParamsInput(serializers.Serializer):
    """fast, slow, kind, allow_short, cash and commission (defaults 10/20/sma/false/10000/0)."""

    fast = serializers.IntegerField(min_value=1, max_value=MAX_WINDOW, default=10)
    slow = serializers.IntegerField(min_value=1, max_value=MAX_WINDOW, default=20)
    kind = serializers.CharField(default="sma", trim_whitespace=True)
    allow_short = serializers.BooleanField(default=False)
    # Cash is money: at most 8 decimal places (1e-30 is refused, not stored as 0) and below
    # the ledger's 1e12 bound on prices (1e300 is refused, not stored unreadable).
    cash = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=Decimal(10_000)
    )
    commission = serializers.FloatField(default=0.0)

    def validate_kind(self, value: str) -> str:
        return value.strip().lower()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The engine's rules (windows, kind, cash, commission), each error naming its field.
        try:
            MovingAverageCrossover(
                attrs["fast"], attrs["slow"], attrs["kind"], attrs["allow_short"]
            )
            broker.check_cash(float(attrs["cash"]))
            broker.check_commission(attrs["commission"])
        except SettingError as exc:
            raise serializers.ValidationError({exc.field: exc.reason}) from None
        return attrs

    @staticmethod
    def value(attrs: dict[str, Any]) -> StrategyParams:
        return StrategyParams(**{name: attrs[name] for name in StrategyParams.__slots__})


class BacktestInput(StrategyParamsInput):
    """A backtest: the strategy and exactly one source of bars (``ticker``, a CSV ``file`` or
    ``synthetic``, a number of generated bars)."""

    ticker = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    period = serializers.CharField(default="1y", trim_whitespace=True)
    interval = serializers.CharField(default="1d", trim_whitespace=True)
    file = serializers.FileField(required=False, allow_empty_file=True)
    synthetic = serializers.IntegerField(required=False, allow_null=True, min_value=2)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=MAX_SEED)
    freq = serializers.CharField(default="1D", trim_whitespace=True)

    def __init__(self, *args, csv_name: str | None = None, **kwargs) -> None:
        # A command's local CSV path counts as the file source.
        super().__init__(*args, **kwargs)
        self.csv_name = csv_name

    def validate_ticker(self, value: str) -> str:
        if not value:
            return value
        try:
            return normalize_ticker(value)
        except InvalidTicker as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_synthetic(self, value: int | None) -> int | None:
        if value is not None and value > settings.BACKTEST_MAX_BARS:
            raise serializers.ValidationError(f"at most {settings.BACKTEST_MAX_BARS:,} bars")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        given = [
            name
            for name, present in (
                ("ticker", bool(attrs.get("ticker"))),
                ("file", attrs.get("file") is not None or self.csv_name is not None),
                ("synthetic", attrs.get("synthetic") is not None),
            )
            if present
        ]
        if len(given) != 1:
            raise serializers.ValidationError(
                {
                    "ticker" if not given else given[1]: "give exactly one source of bars: "
                    "ticker, file (CSV upload) or synthetic (a number of generated bars)"
                    + (f"; got {', '.join(given)}" if given else "")
                }
            )
        attrs["source"] = given[0]
        return attrs

    def bars_source(self) -> BarsSource:
        attrs = self.validated_data
        if attrs["source"] == "synthetic":
            return SyntheticBars(attrs["synthetic"], attrs["seed"], attrs["freq"])
        if attrs["source"] == "ticker":
            return TickerBars(attrs["ticker"], attrs["period"], attrs["interval"])
        upload = attrs.get("file")
        name = self.csv_name or getattr(upload, "name", "") or "upload.csv"
        return CsvBars(name.replace("\\", "/").rsplit("/", 1)[-1])

    def strategy_params(self) -> StrategyParams:
        return self.value(self.validated_data)


class PaperSessionInput(StrategyParamsInput):
    """A paper session: ticker (the ledger's rule), bar (5s to 1d), whole units per trade
    (optional) and the strategy."""

    ticker = serializers.CharField(trim_whitespace=False)
    bar = serializers.CharField(default="1m", trim_whitespace=True)
    quantity = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_QUANTITY
    )
    # Money the ledger can hold: a session's fills are priced in it.
    cash = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=Decimal(10_000)
    )

    def validate_ticker(self, value: str) -> str:
        try:
            return normalize_ticker(value)
        except InvalidTicker as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_bar(self, value: str) -> str:
        bar = value.lower()
        try:
            parse_interval(bar)
        except SettingError as exc:
            raise serializers.ValidationError(exc.reason) from None
        return bar

    def session_params(self) -> PaperSessionParams:
        attrs = self.validated_data
        return PaperSessionParams(
            ticker=attrs["ticker"],
            bar=attrs["bar"],
            quantity=attrs.get("quantity"),
            strategy=self.value(attrs),
        )


class PositionsQuery(serializers.Serializer):
    """Query of the positions list."""

    include_closed = serializers.BooleanField(default=False)


def first_error(errors: Any) -> tuple[str, str]:
    """The first (field, message) of a serializer's errors, for one-line command errors."""
    field_name, messages = next(iter(errors.items()))
    while isinstance(messages, (list, dict)):
        messages = messages[0] if isinstance(messages, list) else next(iter(messages.values()))
    return field_name, str(messages)
