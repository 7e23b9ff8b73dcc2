from __future__ import annotations

import hashlib
import json

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from algo.api.inputs import BacktestInput, PaperSessionInput, PositionsQuery
from algo.api.serializers import (
    BacktestRunSerializer,
    BacktestRunSummarySerializer,
    PaperSessionSerializer,
)
from algo.errors import WorkerUnavailable
from algo.models import PaperSession
from algo.selectors import backtest_queryset, paper_session_queryset, positions_list
from algo.services import (
    ENQUEUE_FAILED,
    backtest_cancel,
    backtest_create,
    backtest_plot,
    paper_session_start,
    paper_session_stop,
)
from api.pagination import KeysetPagination
from api.parsers import DecimalJSONParser, UploadParser
from ledger.api.views import IDEMPOTENCY_HEADER, run_idempotent
from tradepulse.symbols import InvalidTicker, normalize_ticker


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


def _fingerprint_body(request, upload) -> dict | None:
    """The request's fields with an uploaded CSV replaced by its SHA-256 (None: no upload)."""
    if upload is None:
        return None
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    fields = {k: v for k, v in request.data.items() if k != "file"}
    return {**fields, "file": digest.hexdigest()}


class BacktestViewSet(viewsets.GenericViewSet):
    """The signed-in user's backtest runs. Another user's run is a 404."""

    pagination_class = CreatedPagination
    serializer_class = BacktestRunSerializer
    lookup_value_regex = r"[0-9]{1,18}"
    # JSON, or a multipart upload of a price CSV.
    parser_classes = [DecimalJSONParser, UploadParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return backtest_queryset(owner=None).none()
        return backtest_queryset(owner=self.request.user)

    def get_renderers(self):
        if self.action in ("plot_png", "plot_html"):
            return [FileRenderer()]
        return super().get_renderers()

    def get_serializer_class(self):
        return BacktestRunSummarySerializer if self.action == "list" else BacktestRunSerializer

    @extend_schema(
        summary="List backtest runs (newest first, cursor pages)",
        operation_id="backtests_list",
        responses={200: BacktestRunSummarySerializer(many=True)},
    )
    def list(self, request):
        page = self.paginator.paginate_queryset(
            self.get_queryset().defer("trades", "open_trade"), request, self
        )
        return self.paginator.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Run a backtest on a ticker, an uploaded CSV (multipart `file`) or synthetic bars",
        request={"application/json": BacktestInput, "multipart/form-data": BacktestInput},
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OpenApiResponse(BacktestRunSerializer, description="Done (inline run)"),
            202: OpenApiResponse(
                BacktestRunSerializer, description="Queued for the background worker"
            ),
            400: OpenApiResponse(description="A bad field, named"),
            429: OpenApiResponse(description="Too many of the user's runs queued or running"),
            502: OpenApiResponse(description="The ticker's prices could not be downloaded"),
            503: OpenApiResponse(description="The worker's broker is down (the run is failed)"),
        },
    )
    def create(self, request):
        given = BacktestInput(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data.get("file")

        def handler():
            run = backtest_create(
                owner=request.user,
                params=given.strategy_params(),
                source=given.bars_source(),
                upload=upload,
            )
            if run.status == "failed" and run.error.startswith(ENQUEUE_FAILED):
                raise WorkerUnavailable(run.error, run.pk)
            # Handed to the worker is a 202 whatever the worker has done with it meanwhile.
            to_worker = bool(run.task_id) or run.status == "queued"
            code = status.HTTP_202_ACCEPTED if to_worker else status.HTTP_201_CREATED
            return Response(self.get_serializer(run).data, status=code)

        # Queued runs must be committed before the worker is told; an upload is fingerprinted
        # by its content.
        return run_idempotent(
            request, handler, body=_fingerprint_body(request, upload), atomic=False
        )

    @extend_schema(
        summary="Cancel a queued or running run (it stays listed, status cancelled)",
        responses={
            200: OpenApiResponse(BacktestRunSerializer, description="The cancelled run"),
            409: OpenApiResponse(description="The run already ended"),
        },
    )
    def destroy(self, request, pk=None):
        return Response(self.get_serializer(backtest_cancel(run=self.get_object())).data)

    @extend_schema(summary="One backtest run: status, statistics, trades and plot links")
    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

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
    serializer_class = PaperSessionSerializer
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
        return self.paginator.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Start paper trading a ticker on the live feed",
        request=PaperSessionInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: OpenApiResponse(PaperSessionSerializer, description="The running session")},
    )
    def create(self, request):
        given = PaperSessionInput(data=request.data)
        given.is_valid(raise_exception=True)

        def handler():
            session = paper_session_start(
                owner=request.user, params=given.session_params(), runner=PaperSession.Runner.FEED
            )
            return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)

        return run_idempotent(request, handler)

    @extend_schema(summary="One session: position, cash, equity at the last price and P&L")
    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Stop a session (its trades stay in the ledger)")
    def destroy(self, request, pk=None):
        session = paper_session_stop(session=self.get_object())
        return Response(self.get_serializer(session).data)


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
                ticker = normalize_ticker(ticker)
            except InvalidTicker as exc:
                raise ValidationError({"ticker": [str(exc)]}) from None
        query = PositionsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = positions_list(
            owner=request.user,
            ticker=ticker,
            include_closed=query.validated_data["include_closed"],
        )
        return Response({"results": rows})
