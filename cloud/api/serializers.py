"""Response shapes of the trade-analysis endpoints (for the OpenAPI schema)."""

from rest_framework import serializers


class AnalysisOutcomeSerializer(serializers.Serializer):
    statusCode = serializers.IntegerField(  # noqa: N815 - the Lambda's own field name
        help_text="Status of the analysis run; also the HTTP status of the response."
    )
    message = serializers.CharField(help_text='e.g. "Analysis saved for 2025-01-20"')


class TickerAnalysisSerializer(serializers.Serializer):
    trade_count = serializers.IntegerField()
    buy_quantity = serializers.CharField()
    sell_quantity = serializers.CharField()
    net_quantity = serializers.CharField()
    buy_notional = serializers.CharField()
    sell_notional = serializers.CharField()
    vwap = serializers.CharField()
    first_price = serializers.CharField()
    last_price = serializers.CharField()
    low_price = serializers.CharField()
    high_price = serializers.CharField()
    first_timestamp = serializers.CharField()
    last_timestamp = serializers.CharField()


class AnalysisTotalsSerializer(serializers.Serializer):
    trade_count = serializers.IntegerField()
    ticker_count = serializers.IntegerField()
    buy_quantity = serializers.CharField()
    sell_quantity = serializers.CharField()
    net_quantity = serializers.CharField()
    buy_notional = serializers.CharField()
    sell_notional = serializers.CharField()


class SavedAnalysisSerializer(serializers.Serializer):
    """The saved analysis JSON; amounts are exact decimals written as strings."""

    version = serializers.IntegerField()
    date = serializers.DateField()
    row_count = serializers.IntegerField()
    tickers = serializers.DictField(child=TickerAnalysisSerializer())
    totals = AnalysisTotalsSerializer()
