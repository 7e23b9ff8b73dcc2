"""Serializer pieces every app's API shares."""

from __future__ import annotations

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tradepulse.timeutil import format_timestamp
from tradepulse.trades import format_decimal


class TimestampField(serializers.DateTimeField):
    """A datetime written in TradePulse's one output form (``format_timestamp``: RFC 3339, UTC,
    ``Z``, six fraction digits); read as any ISO 8601 form DRF accepts."""

    def to_representation(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = self.to_internal_value(value)
        return format_timestamp(value)


@extend_schema_field({"type": "string", "format": "decimal", "example": "187.25"})
class DecimalStringField(serializers.DecimalField):
    """An exact decimal written as a plain string without trailing zeros (``187.25``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", None)
        kwargs.setdefault("decimal_places", None)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return None if value is None else format_decimal(value)


class ModelSerializer(serializers.ModelSerializer):
    """``ModelSerializer`` whose model datetimes are written by :class:`TimestampField`."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: TimestampField,
    }


__all__ = ["DecimalStringField", "ModelSerializer", "OpenApiTypes", "TimestampField"]
