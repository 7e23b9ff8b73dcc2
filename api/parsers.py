from __future__ import annotations

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid number")


class DecimalJSONParser(JSONParser):
    """JSON parser that reads numbers with a fraction as ``Decimal``, so ``0.1`` stays exact."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded = codecs.getreader(encoding)(stream)
            return json.load(decoded, parse_float=Decimal, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class UploadParser(MultiPartParser):
    """``multipart/form-data``, for the endpoints that take a file. Every other endpoint reads
    JSON only: a body of any other type is a 415 naming the types it accepts."""
