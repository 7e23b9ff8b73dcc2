"""List filters for trades: ticker, side, start_date, end_date.

Dates are either a day (``2025-01-15``: the whole UTC day, end inclusive) or a full ISO 8601
datetime (read as UTC without an offset). Bad values are a 400 naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ledger.models import Trade
from tradepulse.symbols import InvalidTicker, normalize_ticker
from tradepulse.timeutil import InvalidTimestamp, parse_date_or_datetime


class SharedField(forms.Field):
    """A form field that keeps nothing of a form: every form of the filter set uses the
    declared one, where Django deep-copies its fields (with their widgets) for each form."""

    def __deepcopy__(self, memo):
        return self


class DateOrDateTimeField(SharedField):
    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return parse_date_or_datetime(str(value))
        except InvalidTimestamp as exc:
            raise forms.ValidationError(str(exc)) from None


class TickerField(SharedField, forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return normalize_ticker(value)
        except InvalidTicker as exc:
            raise forms.ValidationError(str(exc)) from None


class LowercaseChoiceField(SharedField, forms.CharField):
    """A choice given in any case; ``choices`` and ``label`` are set by subclasses."""

    choices: tuple[str, ...] = ()
    label_name = "value"

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        choice = value.strip().lower()
        if choice not in self.choices:
            options = " or ".join(f"'{c}'" for c in self.choices)
            raise forms.ValidationError(
                f"'{value}' is not a valid {self.label_name}; use {options}."
            )
        return choice


class SideField(LowercaseChoiceField):
    choices = tuple(Trade.Side.values)
    label_name = "side"


def upper_bound(end: tuple[datetime, bool]) -> tuple[datetime, bool]:
    """``(instant, inclusive)`` for an end parameter: a day ends before the next midnight."""
    instant, is_date = end
    if not is_date:
        return instant, True
    if instant.date() == date.max:
        # The day after 9999-12-31 does not exist: the day's last instant is inclusive.
        return datetime.max.replace(tzinfo=UTC), True
    return instant + timedelta(days=1), False


class TradeFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end:
            bound, inclusive = upper_bound(end)
            if start[0] > bound or (start[0] == bound and not inclusive):
                self.add_error("end_date", "end_date must not be before start_date.")
        return cleaned


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeFilter(django_filters.Filter):
    field_class = DateOrDateTimeField


@extend_schema_field(OpenApiTypes.STR)
class TickerFilter(django_filters.Filter):
    field_class = TickerField


@extend_schema_field(OpenApiTypes.STR)
class SideFilter(django_filters.Filter):
    field_class = SideField


class TickerDateRangeFilterSet(django_filters.FilterSet):
    """``ticker``, ``start_date`` and ``end_date`` over a model with ``ticker`` and ``timestamp``;
    lists of trades and of alerts share it.

    The validated filters become one set of ORM lookups (:meth:`lookups`), applied in one
    ``filter()``; the trade list's PostgreSQL page query reads the same lookups.
    """

    ticker = TickerFilter(help_text="Symbol, any case.")
    start_date = DateOrDateTimeFilter(
        help_text="YYYY-MM-DD (from the start of that UTC day) or an ISO 8601 datetime."
    )
    end_date = DateOrDateTimeFilter(
        help_text="YYYY-MM-DD (to the end of that UTC day, inclusive) or an ISO 8601 datetime."
    )

    class Meta:
        fields: list[str] = []
        form = TradeFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # django-filter's constructor deep-copies the declared filters for each filter set and
        # then writes the filter set and the model onto every copy. These filters keep nothing
        # a request uses (lookups() reads the form's cleaned data), so they are shared; and
        # shared objects must not be written per request, so the library's constructor is not
        # called. The queryset is made only when ``qs`` needs it (the API's page query does
        # not).
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self._queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = self.base_filters

    @property
    def queryset(self):
        if self._queryset is None:
            self._queryset = self._meta.model._default_manager.all()
        return self._queryset

    def get_form_class(self):
        # The form depends only on the declared filters: build it once per filter set, not on
        # every request.
        form = type(self).__dict__.get("_form_class")
        if form is None:
            form = super().get_form_class()
            type(self)._form_class = form
        return form

    def lookups(self) -> dict[str, Any]:
        """The validated filters as ORM lookups, e.g. ``{"ticker": "MSFT", "timestamp__gte": t}``."""
        data = self.form.cleaned_data
        found: dict[str, Any] = {}
        if data.get("ticker"):
            found["ticker"] = data["ticker"]
        if data.get("start_date"):
            found["timestamp__gte"] = data["start_date"][0]
        if data.get("end_date"):
            bound, inclusive = upper_bound(data["end_date"])
            found["timestamp__lte" if inclusive else "timestamp__lt"] = bound
        return found

    def filter_queryset(self, queryset):
        return queryset.filter(**self.lookups())


class TradeFilter(TickerDateRangeFilterSet):
    side = SideFilter(help_text="buy or sell, any case.")

    class Meta(TickerDateRangeFilterSet.Meta):
        model = Trade

    def lookups(self) -> dict[str, Any]:
        found = super().lookups()
        if self.form.cleaned_data.get("side"):
            found["side"] = self.form.cleaned_data["side"]
        return found
