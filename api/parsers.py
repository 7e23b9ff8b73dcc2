from __future__ import annotations

import codecs
import json
from decimal import Decimal

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser, MultiPartParser

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


def require_utf8(media_type: str | None, parser_context: dict) -> str:
    """The body's charset, if it is UTF-8; any other is a 415 naming it.

    JSON exchanged between systems is UTF-8 (RFC 8259), and every form the API reads is
    UTF-8 text. A ``charset`` parameter is otherwise looked up as a Python codec, which may be
    no text encoding at all (``zlib`` would unpack a small body past the size limit).
    """
    # As declared: Django drops a charset it does not know, which is no reason to guess.
    declared = parse_header_parameters(media_type or "")[1].get("charset")
    encoding = declared or parser_context.get("encoding") or settings.DEFAULT_CHARSET
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = None
    if name != "utf-8":
        raise UnsupportedMediaType(
            media_type or "",
            detail=f"charset={encoding!s:.40} is not supported; send the body as UTF-8.",
        )
    return encoding


class DecimalJSONParser(JSONParser):
    """JSON parser that reads numbers with a fraction as ``Decimal``, so ``0.1`` stays exact.

    A body nested deeper than ``MAX_JSON_DEPTH`` is a 400 (so is one too deep for Python's
    own decoder, which raises ``RecursionError``).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = require_utf8(media_type, parser_context or {})
        too_deep = ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            decoded = codecs.getreader(encoding)(stream)
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
        require_utf8(media_type, parser_context or {})
        return super().parse(stream, media_type, parser_context)
