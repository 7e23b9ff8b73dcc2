"""List filters for alerts: ticker, direction, start_date, end_date (same rules as trades)."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ledger.api.filters import LowercaseChoiceField, TickerDateRangeFilterSet
from live.models import Alert


class DirectionField(LowercaseChoiceField):
    choices = tuple(Alert.Direction.values)
    label_name = "direction"


@extend_schema_field(OpenApiTypes.STR)
class DirectionFilter(django_filters.Filter):
    field_class = DirectionField


class AlertFilter(TickerDateRangeFilterSet):
    direction = DirectionFilter(help_text="up or down, any case.")

    class Meta(TickerDateRangeFilterSet.Meta):
        model = Alert

    def lookups(self) -> dict[str, Any]:
        found = super().lookups()
        if self.form.cleaned_data.get("direction"):
            found["direction"] = self.form.cleaned_data["direction"]
        return found
