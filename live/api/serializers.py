from __future__ import annotations

from decimal import Decimal, InvalidOperation

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import ModelSerializer
from live.models import Alert, AlertRule
from tradepulse.alerts.detector import alert_text
from tradepulse.symbols import InvalidTicker, normalize_ticker


class AlertSerializer(ModelSerializer):
    message = serializers.SerializerMethodField()
    scope = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = (
            "id",
            "ticker",
            "direction",
            "change_pct",
            "reference_price",
            "price",
            "window_seconds",
            "timestamp",
            "message",
            "scope",
        )

    def get_message(self, alert: Alert) -> str:
        return alert_text(alert.ticker, alert.direction, alert.change_pct, alert.window_seconds)

    def get_scope(self, alert: Alert) -> str:
        """``global`` for the default rule, ``user`` for one of the user's own rules."""
        return "global" if alert.user_id is None else "user"


@extend_schema_field(OpenApiTypes.STR)
class PercentField(serializers.Field):
    """A percent as a JSON number or a numeric string, kept exact as a Decimal."""

    def to_internal_value(self, value):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise serializers.ValidationError("A number is required.")
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise serializers.ValidationError("A number is required.") from None

    def to_representation(self, value):
        return str(value)


class AlertRuleSerializer(serializers.Serializer):
    """One rule: ticker, threshold_pct in (0, 50], window_seconds in 5..3600."""

    ticker = serializers.CharField(max_length=40)
    threshold_pct = PercentField(help_text='Percent, > 0 and <= 50, e.g. "1.5" or 1.5.')
    window_seconds = serializers.IntegerField(help_text="Seconds, 5 to 3600.")

    def validate_ticker(self, value):
        try:
            return normalize_ticker(value)
        except InvalidTicker as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_threshold_pct(self, number):
        if not number.is_finite() or not Decimal(0) < number <= Decimal(50):
            raise serializers.ValidationError("Must be more than 0 and at most 50 (percent).")
        if number != number.quantize(Decimal("0.01")):
            raise serializers.ValidationError("At most 2 decimal places.")
        return number

    def validate_window_seconds(self, value):
        if not 5 <= value <= 3600:
            raise serializers.ValidationError("Must be from 5 to 3600 seconds.")
        return value

    def to_representation(self, rule: AlertRule):
        return {
            "ticker": rule.ticker,
            "threshold_pct": str(rule.threshold_pct),
            "window_seconds": rule.window_seconds,
        }


class AlertRulesSerializer(serializers.Serializer):
    defaults = serializers.DictField(read_only=True)
    rules = AlertRuleSerializer(many=True)
