"""List filters for alerts: ticker, direction, start_date, end_date (same rules as trades)."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ledger.api.filters import (
    DateOrDateTimeFilter,
    TickerFilter,
    TradeFilterForm,
    upper_bound,
)
from live.models import Alert


class DirectionField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        direction = value.strip().lower()
        if direction not in Alert.Direction.values:
            raise forms.ValidationError(f"'{value}' is not a valid direction; use 'up' or 'down'.")
        return direction


class DirectionFilter(django_filters.Filter):
    field_class = DirectionField


@extend_schema_field(OpenApiTypes.STR)
class DateParamFilter(DateOrDateTimeFilter):
    """A day or a datetime; a string in the OpenAPI schema (there is no model field)."""


class AlertFilter(django_filters.FilterSet):
    ticker = TickerFilter(method="filter_ticker", help_text="Symbol, any case.")
    direction = DirectionFilter(method="filter_direction", help_text="up or down, any case.")
    start_date = DateParamFilter(
        method="filter_start",
        help_text="YYYY-MM-DD (from the start of that UTC day) or an ISO 8601 datetime.",
    )
    end_date = DateParamFilter(
        method="filter_end",
        help_text="YYYY-MM-DD (to the end of that UTC day, inclusive) or an ISO 8601 datetime.",
    )

    class Meta:
        model = Alert
        fields: list[str] = []
        # Its clean() checks end_date against start_date for any date-filtered list.
        form = TradeFilterForm

    def filter_ticker(self, queryset, name, value):
        return queryset.filter(ticker=value) if value else queryset

    def filter_direction(self, queryset, name, value):
        return queryset.filter(direction=value) if value else queryset

    def filter_start(self, queryset, name, value):
        return queryset.filter(timestamp__gte=value[0]) if value else queryset

    def filter_end(self, queryset, name, value):
        if not value:
            return queryset
        bound, inclusive = upper_bound(value)
        return queryset.filter(**{"timestamp__lte" if inclusive else "timestamp__lt": bound})
