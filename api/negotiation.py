"""Content negotiation: DRF's, with the client's quality values honoured.

Nearly every API request names no format and accepts anything (no ``Accept`` header, or
``*/*``: curl, requests, wrk) or asks for JSON. DRF then answers with the view's first
renderer and its media type, after parsing the header into media types and matching each
renderer against them. Those requests get the same answer here without the parsing.

Any other ``Accept`` header is matched as DRF matches it (the most specific media range
first, then the view's renderer order, then the client's order), except that a range's
quality (``q``) comes first, as RFC 9110 says: ``application/json;q=0.1, text/csv`` asks for
CSV, and a renderer whose most specific matching range has ``q=0`` is not acceptable (406).
DRF ignores ``q``. A ``?format=`` the view does not have is a 400 naming ``format`` and
those it has (DRF: a bare 404).

A body's ``Content-Type`` must name its type: a wildcard (``*/*``, ``application/*``), which
DRF would match with the first parser, is a 415.
"""

from __future__ import annotations

import re

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.utils.mediatypes import _MediaType

# RFC 9110's qvalue: 0 to 1 with at most three decimals.
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")


def quality(media_type: _MediaType) -> float:
    """A media range's ``q``; 1 when absent or not a qvalue (``q=-1``, ``q=inf``), as DRF
    reads every range."""
    value = media_type.params.get("q")
    return float(value) if value is not None and _QVALUE.fullmatch(value) else 1.0


class ContentNegotiation(DefaultContentNegotiation):
    def select_parser(self, request, parsers):
        if "*" in (request.content_type or "").partition(";")[0]:
            return None  # DRF answers 415, naming the accepted types
        return super().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix:
            accept = request.META.get("HTTP_ACCEPT", "*/*").strip()  # DRF's default
            first = renderers[0]
            if accept in ("*/*", first.media_type) and (
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            ):
                return first, first.media_type
        format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if format:
            renderers = self.filter_renderers(renderers, format)
        accepts = self._get_parsed_accept_list(request)
        qualities = [quality(wanted) for wanted in accepts]
        best = None
        for r_index, renderer in enumerate(renderers):
            offered = _MediaType(renderer.media_type)
            matching = [c for c, wanted in enumerate(accepts) if offered.match(wanted)]
            if offered.sub_type == "*":
                # A renderer of any type (a file's): the best acceptable range it matches.
                ranked = [
                    (-qualities[c], -accepts[c].precedence, c) for c in matching if qualities[c]
                ]
            else:
                # A renderer's quality is that of its most specific matching range (RFC 9110
                # 12.5.1), the first such range on a tie.
                ranked = [(-accepts[c].precedence, c) for c in matching]
            if not ranked or qualities[governing := min(ranked)[-1]] == 0:
                continue
            rank = (-qualities[governing], -accepts[governing].precedence, r_index, governing)
            if best is None or rank < best[0]:
                best = (rank, renderer, offered, accepts[governing])
        if best is None:
            raise exceptions.NotAcceptable(available_renderers=renderers)
        _, renderer, offered, wanted = best
        if offered.precedence > wanted.precedence:
            # The client asked for a range (``*/*``): answer with the renderer's own type, and
            # the client's parameters (DRF's rule).
            params = tuple(f"{key}={value}" for key, value in wanted.params.items())
            return renderer, ";".join((renderer.media_type, *params))
        return renderer, wanted.orig

    def filter_renderers(self, renderers, format):
        found = [renderer for renderer in renderers if renderer.format == format]
        if not found:
            names = list(dict.fromkeys(f"'{renderer.format}'" for renderer in renderers))
            formats = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            raise exceptions.ValidationError(
                {"format": [f"'{format}' is not a format of this endpoint; use {formats}."]}
            )
        return found
