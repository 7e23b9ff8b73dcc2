"""Content negotiation: DRF's, with the common case answered first.

Nearly every API request names no format and accepts anything (no ``Accept`` header, or
``*/*``: curl, requests, wrk) or asks for JSON. DRF then answers with the view's first
renderer and its media type, after parsing the header into media types and matching each
renderer against them. Those requests get the same answer here without the parsing; any
other ``Accept`` header or a ``?format=`` goes through DRF's negotiation unchanged.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix:
            accept = request.META.get("HTTP_ACCEPT", "*/*").strip()  # DRF's default
            first = renderers[0]
            if accept in ("*/*", first.media_type) and (
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            ):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
