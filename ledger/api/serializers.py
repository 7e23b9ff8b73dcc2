"""Trade serializers. Validation is delegated to ``tradepulse.trades.clean_trade`` so the API,
bulk insert, CSV import and paper trading accept exactly the same input."""

from __future__ import annotations

from rest_framework import serializers

from ledger.models import Trade
from ledger.representation import FIELDS, trade_row
from tradepulse.trades import TradeFieldErrors, clean_trade


class TradeSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(
        max_digits=20, decimal_places=8, help_text="Decimal as a string (or JSON number), > 0."
    )
    quantity = serializers.DecimalField(
        max_digits=20, decimal_places=8, help_text="Decimal as a string (or JSON number), > 0."
    )
    ticker = serializers.CharField(max_length=20, help_text="Symbol such as AAPL, BRK.B, ^GSPC.")
    side = serializers.ChoiceField(choices=Trade.Side.choices, help_text="buy or sell, any case.")
    timestamp = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="ISO 8601; UTC when no offset is given; defaults to now.",
    )

    class Meta:
        model = Trade
        fields = FIELDS
        read_only_fields = ("id", "source", "created_at", "updated_at")

    def to_internal_value(self, data):
        try:
            return clean_trade(data, partial=self.partial)
        except TradeFieldErrors as exc:
            raise serializers.ValidationError(exc.errors) from None

    def to_representation(self, instance):
        return trade_row(instance)


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())
