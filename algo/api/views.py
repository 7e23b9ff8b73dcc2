from __future__ import annotations

import json

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from algo.api.serializers import (
    BacktestRunSchema,
    PaperSessionSchema,
    backtest_detail,
    backtest_summary,
    paper_session_data,
)
from algo.models import PaperSession
from algo.selectors import backtest_queryset, paper_session_queryset, positions_list
from algo.services import backtest_create, backtest_plot, paper_session_start, paper_session_stop
from api.pagination import KeysetPagination
from tradepulse.symbols import InvalidTicker, normalise_ticker

BACKTEST_FIELDS = (
    "fast",
    "slow",
    "kind",
    "allow_short",
    "cash",
    "commission",
    "ticker",
    "period",
    "interval",
    "synthetic",
    "seed",
    "freq",
)


class CreatedPagination(KeysetPagination):
    timestamp_field = "created_at"


class StartedPagination(KeysetPagination):
    timestamp_field = "started_at"


class FileRenderer(renderers.BaseRenderer):
    """Lets a file response through whatever the client accepts; errors stay JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (bytes, str)):
            return data
        return json.dumps(data).encode()


def _plain(data) -> dict:
    """Form or JSON input as a flat dict (a form's lists reduced to their last value)."""
    if hasattr(data, "dict"):
        return data.dict()
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object or a form."]})
    return dict(data)


class BacktestViewSet(viewsets.GenericViewSet):
    """The signed-in user's backtest runs. Another user's run is a 404."""

    pagination_class = CreatedPagination
    serializer_class = BacktestRunSchema
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return backtest_queryset(owner=None).none()
        return backtest_queryset(owner=self.request.user)

    def get_renderers(self):
        if self.action in ("plot_png", "plot_html"):
            return [FileRenderer()]
        return super().get_renderers()

    @extend_schema(
        summary="List backtest runs (newest first, cursor pages)", operation_id="backtests_list"
    )
    def list(self, request):
        page = self.paginator.paginate_queryset(
            self.get_queryset().defer("trades", "open_trade"), request, self
        )
        return self.paginator.get_paginated_response(
            [backtest_summary(run, request) for run in page]
        )

    @extend_schema(
        summary="Run a backtest on a ticker, an uploaded CSV (multipart `file`) or synthetic bars",
        request={
            "application/json": OpenApiTypes.OBJECT,
            "multipart/form-data": OpenApiTypes.OBJECT,
        },
        responses={
            201: OpenApiResponse(description="Done (inline run)"),
            202: OpenApiResponse(description="Queued for the background worker"),
            400: OpenApiResponse(description="A bad field, named"),
            502: OpenApiResponse(description="The ticker's prices could not be downloaded"),
        },
    )
    def create(self, request):
        data = _plain(request.data)
        upload = request.FILES.get("file")
        params = {k: v for k, v in data.items() if k in BACKTEST_FIELDS}
        run = backtest_create(owner=request.user, params=params, data=params, upload=upload)
        code = status.HTTP_201_CREATED if run.status == "done" else status.HTTP_202_ACCEPTED
        if run.status == "failed":
            code = status.HTTP_201_CREATED
        return Response(backtest_detail(run, request), status=code)

    @extend_schema(summary="One backtest run: status, statistics, trades and plot links")
    def retrieve(self, request, pk=None):
        return Response(backtest_detail(self.get_object(), request))

    @extend_schema(
        summary="Price, averages, trades, equity and drawdown as a PNG",
        responses={(200, "image/png"): OpenApiTypes.BINARY},
    )
    def plot_png(self, request, pk=None):
        path = backtest_plot(run=self.get_object(), kind="png")
        return FileResponse(open(path, "rb"), content_type="image/png")

    @extend_schema(
        summary="The same picture as one self-contained HTML page",
        responses={(200, "text/html"): OpenApiTypes.STR},
    )
    def plot_html(self, request, pk=None):
        path = backtest_plot(run=self.get_object(), kind="html")
        return FileResponse(open(path, "rb"), content_type="text/html; charset=utf-8")


class PaperSessionViewSet(viewsets.GenericViewSet):
    """The signed-in user's paper-trading sessions; DELETE stops one (it stays listed)."""

    pagination_class = StartedPagination
    serializer_class = PaperSessionSchema
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return paper_session_queryset(owner=None).none()
        return paper_session_queryset(owner=self.request.user)

    @extend_schema(
        summary="List paper-trading sessions (newest first, cursor pages)",
        operation_id="paper_sessions_list",
    )
    def list(self, request):
        page = self.paginator.paginate_queryset(self.get_queryset(), request, self)
        return self.paginator.get_paginated_response([paper_session_data(s, request) for s in page])

    @extend_schema(
        summary="Start paper trading a ticker on the live feed",
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiResponse(description="The running session")},
    )
    def create(self, request):
        session = paper_session_start(
            owner=request.user, data=_plain(request.data), runner=PaperSession.Runner.FEED
        )
        return Response(paper_session_data(session, request), status=status.HTTP_201_CREATED)

    @extend_schema(summary="One session: position, cash, equity at the last price and P&L")
    def retrieve(self, request, pk=None):
        return Response(paper_session_data(self.get_object(), request))

    @extend_schema(summary="Stop a session (its trades stay in the ledger)")
    def destroy(self, request, pk=None):
        session = paper_session_stop(session=self.get_object())
        return Response(paper_session_data(session, request))


class PositionsView(APIView):
    """Open positions from the user's ledger, FIFO."""

    @extend_schema(
        summary="Open positions per ticker (FIFO cost, realised and unrealised P&L)",
        parameters=[
            OpenApiParameter("ticker", str, description="Only this ticker"),
            OpenApiParameter(
                "include_closed", bool, description="Also list flat tickers (realised P&L)"
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        ticker = request.query_params.get("ticker") or None
        if ticker is not None:
            try:
                ticker = normalise_ticker(ticker)
            except InvalidTicker as exc:
                raise ValidationError({"ticker": [str(exc)]}) from None
        raw = (request.query_params.get("include_closed") or "false").strip().lower()
        if raw not in ("true", "false", "1", "0"):
            raise ValidationError({"include_closed": ["Must be true or false."]})
        rows = positions_list(
            owner=request.user, ticker=ticker, include_closed=raw in ("true", "1")
        )
        return Response({"results": rows})
