from __future__ import annotations

import copy
import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from django.http import StreamingHttpResponse
from rest_framework import renderers
from rest_framework.renderers import BaseRenderer

from config.disconnect import client_gone
from ledger.representation import FIELDS, TEXT_FIELDS
from tradepulse.csvcells import escape_cell

logger = logging.getLogger(__name__)


class JSONRows(Sequence):
    """Objects already written as compact JSON text (by the database), kept as text.

    :class:`JSONRenderer` puts the text into the response as it is. Read as a sequence, or
    through ``tolist()`` (DRF's JSON encoder, for the browsable API's indented rendering),
    it gives the parsed objects."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self._parsed: list | None = None

    def _objects(self) -> list:
        if self._parsed is None:
            self._parsed = [json.loads(text) for text in self.texts]
        return self._parsed

    def tolist(self) -> list:
        return self._objects()

    def __eq__(self, other) -> bool:
        return self._objects() == (list(other) if isinstance(other, JSONRows) else other)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __getitem__(self, index):
        return self._objects()[index]

    def __len__(self) -> int:
        return len(self.texts)


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer. A :class:`JSONRows` value of a response object's last key is
    spliced in as its text, when DRF's own output would be compact and unescaped UTF-8 (the
    API's, not the browsable API's): the same bytes as rendering the objects."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return self._render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate (from a client's invalid text, quoted in an error) has no UTF-8
            # form: write every character past ASCII as a JSON escape instead, which is valid
            # JSON for the same text.
            escaped = copy.copy(self)
            escaped.ensure_ascii = True
            return renderers.JSONRenderer.render(
                escaped, data, accepted_media_type, renderer_context
            )

    def _render(self, data, accepted_media_type, renderer_context):
        if (
            not isinstance(data, dict)
            or not data
            or not self.compact
            or self.ensure_ascii
            or self.get_indent(accepted_media_type, renderer_context or {})
        ):
            return super().render(data, accepted_media_type, renderer_context)
        *_, (key, rows) = data.items()
        if not isinstance(rows, JSONRows) or not isinstance(key, str):
            return super().render(data, accepted_media_type, renderer_context)
        rest = dict(data)
        del rest[key]
        head = super().render(rest, accepted_media_type, renderer_context)[:-1]
        # As DRF escapes them (JSON allows them raw, JavaScript did not).
        text = ",".join(rows.texts).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return (
            head
            + (b"," if rest else b"")
            + super().render(key, accepted_media_type, renderer_context)
            + b":["
            + text.encode()
            + b"]}"
        )


def _cells(item) -> list:
    return [escape_cell(item[f]) if f in TEXT_FIELDS else item[f] for f in FIELDS]


class CSVRenderer(BaseRenderer):
    """``text/csv`` for trade lists. Lists are streamed by the view; this renders the rest
    (a single trade, or an error as ``field,message`` rows). Text cells are escaped against
    spreadsheet formulas (``tradepulse.csvcells``)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if isinstance(data, dict) and "id" in data and "ticker" in data:
            writer.writerow(FIELDS)
            writer.writerow(_cells(data))
        elif isinstance(data, dict):
            writer.writerow(["field", "message"])
            for key, value in data.items():
                messages = value if isinstance(value, list) else [value]
                for message in messages:
                    writer.writerow([escape_cell(str(key)), escape_cell(str(message))])
        return buffer.getvalue().encode(self.charset)


class Echo:
    def write(self, value):
        return value


def stream_csv(
    rows: Iterable,
    represent: Callable[[object], dict],
    *,
    chunk_rows: int = 1000,
    stop: Callable[[], bool] | None = None,
) -> Iterator[str]:
    """Yield CSV text: the header, then ``chunk_rows`` lines at a time (one write to the
    client each), fetching and writing each chunk as it is sent, without holding the list.
    Stops early, closing ``rows``, once ``stop()`` is true (the client has gone)."""
    writer = csv.writer(Echo(), lineterminator="\n")
    yield writer.writerow(FIELDS)
    source = iter(rows)
    lines = (writer.writerow(_cells(represent(row))) for row in source)
    try:
        while chunk := "".join(islice(lines, chunk_rows)):
            yield chunk
            if stop is not None and stop():
                logger.info("CSV download stopped after a chunk: the client has gone")
                return
    finally:
        lines.close()
        close = getattr(source, "close", None)
        if close is not None:
            close()


def csv_download(request, rows: Iterable, represent: Callable[[object], dict]):
    """``trades.csv`` as an attachment, streamed by :func:`stream_csv`, which stops once the
    client of ``request`` has gone."""
    response = StreamingHttpResponse(
        stream_csv(rows, represent, stop=lambda: client_gone(request)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="trades.csv"'
    return response
