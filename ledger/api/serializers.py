"""Trade serializers. ``TradeSerializer`` is the one declaration of a trade's shape on the wire:
it renders a trade, documents it in the OpenAPI schema, and every fast path (the PostgreSQL page
query, the CSV download) takes its column list from it (see :mod:`ledger.representation`).
Validation is delegated to ``tradepulse.trades.clean_trade`` so the API, bulk insert, CSV import
and paper trading accept exactly the same input."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers import DecimalStringField, ModelSerializer, TimestampField
from ledger.models import Trade
from tradepulse.trades import TradeFieldErrors, clean_trade


class TradeSerializer(ModelSerializer):
    price = DecimalStringField(
        help_text="Exact decimal > 0 and < 10^12, at most 8 places; a string (or JSON number)."
    )
    quantity = DecimalStringField(
        help_text="Exact decimal > 0 and < 10^12, at most 8 places; a string (or JSON number)."
    )
    ticker = serializers.CharField(max_length=20, help_text="Symbol such as AAPL, BRK.B, ^GSPC.")
    side = serializers.ChoiceField(choices=Trade.Side.choices, help_text="buy or sell, any case.")
    timestamp = TimestampField(
        required=False,
        allow_null=True,
        help_text="ISO 8601 in; UTC when no offset is given; defaults to now. Out: RFC 3339 "
        "in UTC with six fraction digits and Z.",
    )

    class Meta:
        model = Trade
        # The trade's fields on the wire, in order: the one list (JSON, CSV, page SQL).
        fields = (
            "id",
            "ticker",
            "side",
            "price",
            "quantity",
            "timestamp",
            "source",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "source", "created_at", "updated_at")

    def to_internal_value(self, data):
        try:
            return clean_trade(data, partial=self.partial)
        except TradeFieldErrors as exc:
            raise serializers.ValidationError(exc.errors) from None


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())
