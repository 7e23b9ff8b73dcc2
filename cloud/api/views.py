"""The trade-analysis endpoints: run a day's analysis, read a saved one.

The analysis covers every user's trades of the day. It is aggregate per ticker, but a ticker
traded by one user that day shows exactly that user's trades, so by default only staff may run
or read it (``TRADE_ANALYSIS_ACCESS="users"`` opens it to every signed-in user). Runs are
throttled separately (``TRADE_ANALYSIS_RATE``) because each one may start a Lambda invocation.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsAuthenticatedThrottled
from api.throttling import AnonWindowThrottle, UserWindowThrottle
from cloud.analysis import configured_backend, saved_analysis
from cloud.api.serializers import AnalysisOutcomeSerializer, SavedAnalysisSerializer
from cloud.destinations import configured_destination
from cloud.exceptions import BrokerUnavailable, one_line
from tradepulse.analysis import InvalidDate, parse_day


class CanSeeAllUsersAnalysis(IsAuthenticatedThrottled):
    """Signed in, and staff unless ``TRADE_ANALYSIS_ACCESS`` is ``"users"``."""

    message = (
        "The trade analysis covers every user's trades: it needs a staff account "
        "(TRADE_ANALYSIS_ACCESS)."
    )

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return settings.TRADE_ANALYSIS_ACCESS == "users" or request.user.is_staff


class AnalysisRunThrottle(UserWindowThrottle):
    """Runs of the analysis per user, at ``TRADE_ANALYSIS_RATE``."""

    scope = "trade_analysis"

    def get_rate(self) -> str:
        return settings.TRADE_ANALYSIS_RATE


def _day(value: object):
    try:
        return parse_day(value)
    except InvalidDate as error:
        raise ValidationError({"date": [str(error)]}) from None


_FAILURE = OpenApiResponse(
    AnalysisOutcomeSerializer, description="Same body; the message gives the cause."
)


class TradeAnalysisView(APIView):
    permission_classes = [CanSeeAllUsersAnalysis]
    throttle_classes = [AnonWindowThrottle, UserWindowThrottle, AnalysisRunThrottle]

    @extend_schema(
        operation_id="trade_analysis_run",
        summary="Analyse one day's exported trades and save the result",
        description=(
            "Runs the analysis of the day's export through the configured backend (in-process, "
            "AWS Lambda or its API Gateway endpoint) and answers with its status and message, "
            "as the HTTP status too. 404: no export for that day; 422: the export is malformed; "
            "502: the backend or the storage failed; 504: the backend did not answer in time. "
            "Staff only unless TRADE_ANALYSIS_ACCESS=users (403 otherwise)."
        ),
        parameters=[
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                required=True,
                description="UTC day to analyse, YYYY-MM-DD",
            )
        ],
        responses={
            200: AnalysisOutcomeSerializer,
            400: OpenApiResponse(description='Missing or invalid date: {"date": ["..."]}'),
            403: OpenApiResponse(description="Not staff (see TRADE_ANALYSIS_ACCESS)"),
            404: _FAILURE,
            422: _FAILURE,
            502: _FAILURE,
            504: _FAILURE,
        },
        examples=[
            OpenApiExample(
                "Saved",
                value={"statusCode": 200, "message": "Analysis saved for 2025-01-20"},
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request):
        day = _day(request.query_params.get("date"))
        outcome = configured_backend().run(day)
        return Response(
            {"statusCode": outcome.status_code, "message": outcome.message},
            status=outcome.status_code,
        )


class SavedAnalysisView(APIView):
    permission_classes = [CanSeeAllUsersAnalysis]

    @extend_schema(
        operation_id="trade_analysis_saved",
        summary="The saved analysis of one day",
        parameters=[
            OpenApiParameter(
                "day", OpenApiTypes.DATE, OpenApiParameter.PATH, description="YYYY-MM-DD"
            )
        ],
        responses={
            200: SavedAnalysisSerializer,
            400: OpenApiResponse(description='Invalid date: {"date": ["..."]}'),
            403: OpenApiResponse(description="Not staff (see TRADE_ANALYSIS_ACCESS)"),
            404: OpenApiResponse(description="No analysis saved for that day"),
            502: _FAILURE,
        },
    )
    def get(self, request, day: str):
        parsed = _day(day)
        result = saved_analysis(parsed, configured_destination().storage())
        if result is None:
            return Response({"detail": f"No analysis saved for {parsed}."}, status=404)
        return Response(result)


class ExportRequestSerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False, help_text="UTC day to export (default: the previous UTC day)"
    )
    analyse = serializers.BooleanField(
        default=True, help_text="Run the day's analysis once the export is written"
    )


class ExportQueuedSerializer(serializers.Serializer):
    date = serializers.DateField()
    analyse = serializers.BooleanField()
    task_id = serializers.CharField()


class ExportEnqueueView(APIView):
    """Queue one day's export (all users' trades), then its analysis, for the Celery worker.

    Staff only: the export holds every user's trades. Needs the scale-out mode's broker
    (``REDIS_URL``): without it, or while it is down, the answer is a 503 naming it.
    """

    permission_classes = [IsAuthenticatedThrottled, IsAdminUser]

    @extend_schema(
        operation_id="exports_enqueue",
        summary="Queue a day's export and analysis for the background worker (staff)",
        request=ExportRequestSerializer,
        responses={
            202: ExportQueuedSerializer,
            400: OpenApiResponse(description="Invalid date"),
            503: OpenApiResponse(description="No broker configured, or it is down"),
        },
    )
    def post(self, request):
        from cloud.tasks import enqueue_export, previous_utc_day

        given = ExportRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        day = given.validated_data.get("date") or previous_utc_day()
        analyse = given.validated_data["analyse"]
        if not settings.REDIS_URL:
            raise BrokerUnavailable("no background worker is configured (set REDIS_URL)", day)
        try:
            task_id = enqueue_export(day, analyse=analyse)
        except Exception as error:
            raise BrokerUnavailable(
                f"the worker's broker is unavailable: {one_line(error)}", day
            ) from error
        return Response(
            {"date": day.isoformat(), "analyse": analyse, "task_id": task_id}, status=202
        )
