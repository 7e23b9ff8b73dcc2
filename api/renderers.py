from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from rest_framework.renderers import BaseRenderer

from ledger.representation import FIELDS
from tradepulse.csvcells import escape_cell

# The columns that hold text (the rest are numbers and timestamps TradePulse formats itself).
TEXT_FIELDS = frozenset({"ticker", "side", "source"})


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


def stream_csv(rows: Iterable, represent: Callable[[object], dict]) -> Iterator[str]:
    """Yield CSV text: the header, then one line per row, without holding the list."""
    writer = csv.writer(Echo(), lineterminator="\n")
    yield writer.writerow(FIELDS)
    for row in rows:
        yield writer.writerow(_cells(represent(row)))


async def astream_csv(
    rows: Iterable, represent: Callable[[object], dict], *, chunk_rows: int = 1000
) -> AsyncIterator[str]:
    """``stream_csv`` for ASGI servers: ``chunk_rows`` lines at a time, each chunk fetched and
    written in the request's worker thread (the database cursor lives there) and sent before
    the next is made, so memory stays flat and the first bytes leave at once.

    Django serves a ``StreamingHttpResponse`` over a *sync* iterator under ASGI by reading it
    whole first; an async iterator is what streams.
    """
    lines = stream_csv(rows, represent)

    def next_chunk() -> str:
        return "".join(islice(lines, chunk_rows))

    try:
        while chunk := await sync_to_async(next_chunk, thread_sensitive=True)():
            yield chunk
    finally:
        await sync_to_async(lines.close, thread_sensitive=True)()


def csv_stream_for(request, rows: Iterable, represent: Callable[[object], dict]):
    """The CSV body iterator suited to the server running ``request``: async under ASGI."""
    from django.core.handlers.asgi import ASGIRequest

    if isinstance(getattr(request, "_request", request), ASGIRequest):
        return astream_csv(rows, represent)
    return stream_csv(rows, represent)
