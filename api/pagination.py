"""Keyset (cursor) pagination over ``(timestamp, id)``, newest first.

Each page is one index range scan: ``(timestamp, id) < (cursor)`` ordered by the same columns,
``LIMIT page_size + 1``. No COUNT, no OFFSET, so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from urllib import parse

from django.db import connections
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from ledger.representation import TEXT_SUFFIX
from tradepulse.timeutil import parse_datetime_utc


class KeysetPagination(BasePagination):
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = 100
    max_page_size = 1000
    timestamp_field = "timestamp"

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {"page_size": [f"page_size must be an integer from 1 to {self.max_page_size}."]}
            )
        return size

    @staticmethod
    def encode(timestamp: datetime | str, pk: int, reverse: bool) -> str:
        """A cursor at ``(timestamp, pk)``; ``timestamp`` may be ISO 8601 text already."""
        text = timestamp if isinstance(timestamp, str) else timestamp.isoformat()
        raw = json.dumps({"t": text, "i": pk, "r": int(reverse)})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, token: str) -> tuple[datetime, int, bool]:
        invalid = ValidationError({"cursor": ["Invalid cursor."]})
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            text, pk, reverse = data["t"], data["i"], data.get("r", 0)
            if not isinstance(text, str) or len(text) > 64:
                raise invalid
            ts = parse_datetime_utc(text)
        except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
            raise invalid from None
        # An id as the database stores it: a JSON integer within a signed 64-bit column.
        if type(pk) is not int or not 0 <= pk < 2**63 or reverse not in (0, 1):
            raise invalid
        return ts, pk, bool(reverse)

    def paginate_queryset(self, queryset, request, view=None):
        model = queryset.model
        conn = connections[queryset.db]
        table = conn.ops.quote_name(model._meta.db_table)
        column = conn.ops.quote_name(model._meta.get_field(self.timestamp_field).column)
        pk_column = conn.ops.quote_name(model._meta.pk.column)

        def fetch(after, reverse, limit):
            page = queryset
            if after:
                op = ">" if reverse else "<"
                page = page.extra(
                    where=[f"({table}.{column}, {table}.{pk_column}) {op} (%s, %s)"],
                    params=[conn.ops.adapt_datetimefield_value(after[0]), after[1]],
                )
            if reverse:
                page = page.order_by(self.timestamp_field, "pk")
            else:
                page = page.order_by(f"-{self.timestamp_field}", "-pk")
            return list(page[:limit])

        return self.paginate(fetch, request)

    def paginate(self, fetch, request):
        """One page of rows from ``fetch(after, reverse, limit)``.

        ``fetch`` returns at most ``limit`` rows strictly past ``after`` (a ``(timestamp, id)``
        pair, or None for the first page): newest first, or oldest first when ``reverse``.
        """
        self.request = request
        self._url: tuple | None = None
        size = self._page_size(request)
        token = request.query_params.get(self.cursor_query_param)
        cursor = self.decode(token) if token else None
        reverse = bool(cursor and cursor[2])
        rows = fetch(after=cursor[:2] if cursor else None, reverse=reverse, limit=size + 1)
        has_more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self._next = self._prev = None
        if rows:
            first, last = rows[0], rows[-1]
            if has_more or reverse:
                self._next = self.encode(*self.position(last), False)
            if cursor and (not reverse or has_more):
                self._prev = self.encode(*self.position(first), True)
        return rows

    def position(self, row) -> tuple[datetime | str, int]:
        """``(timestamp, id)`` of a row: a model instance ordered by ``timestamp_field``, or a
        dict of ``ledger.representation.wire_values`` (which may hold the wire text), or the
        JSON text of such a row (the wire form)."""
        if isinstance(row, str):
            row = json.loads(row)
        if isinstance(row, dict):
            name = "timestamp"
            return (row[name] if name in row else row[name + TEXT_SUFFIX]), row["id"]
        return getattr(row, self.timestamp_field), row.pk

    def _link(self, token: str | None) -> str | None:
        """The request's URL with ``cursor=token`` (as DRF's ``replace_query_param`` writes
        it). The URL is split and its other parameters encoded once per page; each link then
        only places its cursor between them, where sorting the parameters puts it."""
        if token is None:
            return None
        if self._url is None:
            key = self.cursor_query_param
            scheme, netloc, path, query, fragment = parse.urlsplit(
                self.request.build_absolute_uri()
            )
            params = parse.parse_qs(query, keep_blank_values=True)
            params.pop(key, None)
            ordered = sorted(params.items())
            before = parse.urlencode([p for p in ordered if p[0] < key], doseq=True)
            after = parse.urlencode([p for p in ordered if p[0] > key], doseq=True)
            self._url = (
                f"{parse.urlunsplit((scheme, netloc, path, '', ''))}?"
                f"{before}{'&' if before else ''}{parse.quote_plus(key)}=",
                f"{'&' if after else ''}{after}{'#' if fragment else ''}{fragment}",
            )
        head, tail = self._url
        return f"{head}{parse.quote_plus(token)}{tail}"

    def get_paginated_response(self, data):
        return Response(
            {"next": self._link(self._next), "previous": self._link(self._prev), "results": data}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a previous page's next/previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page, 1 to {self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
