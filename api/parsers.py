from __future__ import annotations

import codecs
import json
from decimal import Decimal

from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser, MultiPartParser

from config.request_limits import refused_charset

# Deeper than any request body of the API needs; far below Python's recursion limit, so no
# later step (fingerprints, validation, error messages) can recurse out of stack on a body.
MAX_JSON_DEPTH = 32


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid number")


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether containers in ``value`` nest deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class UnsupportedCharset(UnsupportedMediaType):
    """A body in a charset other than UTF-8 (``config.request_limits.refused_charset``); its
    detail says so, where another 415 names the accepted types."""


def require_utf8(media_type: str | None) -> None:
    """A body in any charset but UTF-8 (in one of its spellings) is a 415 naming it.

    The server refuses these before Django reads the request (config/request_limits.py); a
    request made in-process (tests, the shell) meets the same rule here.
    """
    refusal = refused_charset(media_type or "")
    if refusal is not None:
        raise UnsupportedCharset(media_type or "", detail=refusal)


class DecimalJSONParser(JSONParser):
    """JSON parser that reads numbers with a fraction as ``Decimal``, so ``0.1`` stays exact.

    A body nested deeper than ``MAX_JSON_DEPTH`` is a 400 (so is one too deep for Python's
    own decoder, which raises ``RecursionError``).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        require_utf8(media_type)
        too_deep = ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            decoded = codecs.getreader("utf-8")(stream)
            data = json.load(decoded, parse_float=Decimal, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise too_deep from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise too_deep
        return data


class UploadParser(MultiPartParser):
    """``multipart/form-data``, for the endpoints that take a file. Every other endpoint reads
    JSON only: a body of any other type is a 415 naming the types it accepts."""

    def parse(self, stream, media_type=None, parser_context=None):
        require_utf8(media_type)
        return super().parse(stream, media_type, parser_context)
