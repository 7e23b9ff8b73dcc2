from __future__ import annotations

import contextlib
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.errors import DomainError
from api.pagination import KeysetPagination
from api.renderers import CSVRenderer, JSONRows, csv_download
from ledger import idempotency
from ledger.api.filters import TradeFilter
from ledger.api.serializers import BulkResultSerializer, TradeSerializer
from ledger.representation import trade_row, wire_values
from ledger.selectors import trade_page, trade_queryset, trade_rows
from ledger.services import trade_create, trade_delete, trade_update, trades_store
from tradepulse.trades import TradeFieldErrors, clean_trade

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key: a retry with the same key and body replays the first response "
    "(24 h, per user); a different body is a 422; a retry while the first runs is a 409.",
)

MAX_BULK_ERRORS = 100


class BulkValidationError(DomainError):
    """Per-item errors of a bulk request: ``[{"index": i, "<field>": [...]}, ...]``."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} invalid trade(s)")
        self.errors = errors

    def as_body(self) -> dict:
        return {"errors": self.errors}


def run_idempotent(request, handler, *, body=None, atomic: bool = True):
    """Run ``handler`` once per ``Idempotency-Key``; see :mod:`ledger.idempotency`.

    ``body`` replaces ``request.data`` in the request's fingerprint (an upload's digest, say).
    With ``atomic=False`` the handler commits its own writes (work handed to a queue must see
    them) and the response is stored after it returns.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    outcome = idempotency.reserve(
        owner=request.user,
        key=key,
        request_hash=idempotency.fingerprint(
            request.method, request.path, request.data if body is None else body
        ),
    )
    if isinstance(outcome, idempotency.Replay):
        return Response(
            outcome.body, status=outcome.status, headers={"Idempotent-Replayed": "true"}
        )
    try:
        with transaction.atomic() if atomic else contextlib.nullcontext():
            response = handler()
            idempotency.complete(outcome, status=response.status_code, body=response.data)
    except BaseException:
        idempotency.release(outcome)
        raise
    return response


class TradeViewSet(viewsets.GenericViewSet):
    """The signed-in user's trades. Another user's trade is a 404 on every method."""

    serializer_class = TradeSerializer
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TradeFilter
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return trade_queryset(owner=None).none()
        return trade_queryset(owner=self.request.user)

    def filter_queryset(self, queryset):
        # list() applies TradeFilter itself (filter_backends documents it in the schema); one
        # trade is found by its id among the user's own.
        return queryset

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.action == "list":
            renderers.append(CSVRenderer())
        return renderers

    @extend_schema(
        summary="List trades (newest first, cursor pages; CSV with Accept: text/csv)",
        operation_id="trades_list",
        # Both keyed by media type: drf-spectacular reads the first key (sorted as text) as
        # the list's own response, and only a list's gets its filters and paging parameters.
        responses={
            (200, "application/json"): TradeSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def list(self, request):
        # The filters are checked first; the owner's trades are filtered through the ORM only
        # by the paths that query through it (the PostgreSQL page is one precomposed statement).
        filters = TradeFilter(request.query_params, request=request)
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        if request.accepted_renderer.format == "csv":
            rows = trade_rows(filters.filter_queryset(self.get_queryset()))
            return csv_download(request, rows, trade_row)
        if connection.vendor == "postgresql":
            fetch = partial(trade_page, owner=request.user, lookups=filters.lookups())
            rows = self.paginator.paginate(fetch, request)
            return self.paginator.get_paginated_response(JSONRows(rows))
        queryset = wire_values(filters.filter_queryset(self.get_queryset()))
        rows = self.paginator.paginate_queryset(queryset, request, self)
        return self.paginator.get_paginated_response([trade_row(r) for r in rows])

    @extend_schema(
        summary="Record a trade", parameters=[IDEMPOTENCY_HEADER], responses={201: TradeSerializer}
    )
    def create(self, request):
        def handler():
            trade = trade_create(owner=request.user, data=request.data)
            return Response(trade_row(trade), status=status.HTTP_201_CREATED)

        return run_idempotent(request, handler)

    @extend_schema(summary="Get one trade")
    def retrieve(self, request, pk=None):
        return Response(trade_row(self.get_object()))

    @extend_schema(summary="Replace a trade (timestamp kept when omitted)")
    def update(self, request, pk=None):
        trade = trade_update(trade=self.get_object(), data=request.data, partial=False)
        return Response(trade_row(trade))

    @extend_schema(summary="Change some fields of a trade")
    def partial_update(self, request, pk=None):
        trade = trade_update(trade=self.get_object(), data=request.data, partial=True)
        return Response(trade_row(trade))

    @extend_schema(summary="Delete a trade", responses={204: None})
    def destroy(self, request, pk=None):
        trade_delete(trade=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Record up to 10,000 trades, all or nothing",
        parameters=[IDEMPOTENCY_HEADER],
        request=TradeSerializer(many=True),
        responses={201: BulkResultSerializer, 400: OpenApiResponse(description="Per-item errors")},
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        def handler():
            items = request.data
            if not isinstance(items, list):
                raise ValidationError({"non_field_errors": ["Expected a JSON list of trades."]})
            if not items:
                raise ValidationError({"non_field_errors": ["The list of trades is empty."]})
            limit = settings.BULK_MAX_TRADES
            if len(items) > limit:
                raise ValidationError(
                    {
                        "non_field_errors": [
                            f"At most {limit:,} trades per request ({len(items):,} sent)."
                        ]
                    }
                )
            now = timezone.now()

            def validated():
                # Validates while the database stores the previous chunk; a bad item stops
                # the stream, the rest is still checked so that every error is reported.
                errors = []
                for index, item in enumerate(items):
                    try:
                        row = clean_trade(item, now=now)
                    except TradeFieldErrors as exc:
                        errors.append({"index": index, **exc.errors})
                        if len(errors) >= MAX_BULK_ERRORS:
                            break
                        continue
                    if not errors:
                        yield row
                if errors:
                    raise BulkValidationError(errors)

            ids = trades_store(owner=request.user, cleaned=validated(), count=len(items))
            return Response({"created": len(ids), "ids": ids}, status=status.HTTP_201_CREATED)

        return run_idempotent(request, handler)
