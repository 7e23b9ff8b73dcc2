from __future__ import annotations

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import DomainError
from api.pagination import KeysetPagination
from live.api.filters import AlertFilter
from live.api.serializers import AlertRuleSerializer, AlertRulesSerializer, AlertSerializer
from live.selectors import alert_queryset, alert_rules_of
from live.services import alert_rules_replace

MAX_RULES = 100


class AlertRulesInvalid(DomainError):
    """Per-item errors of a rules PUT: ``[{"index": i, "<field>": [...]}, ...]``."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} invalid rule(s)")
        self.errors = errors

    def as_body(self) -> dict:
        return {"rules": self.errors}


class AlertViewSet(viewsets.GenericViewSet):
    """Alerts of the global rule plus the signed-in user's own rules, newest first."""

    serializer_class = AlertSerializer
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return alert_queryset(user=None)
        return alert_queryset(user=self.request.user)

    @extend_schema(summary="List alerts (newest first, cursor pages)")
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginator.paginate_queryset(queryset, request, self)
        return self.paginator.get_paginated_response(AlertSerializer(page, many=True).data)


def _defaults() -> dict:
    return {
        "threshold_pct": settings.ALERT_THRESHOLD_PCT,
        "window_seconds": settings.ALERT_WINDOW_SECONDS,
    }


class AlertRulesView(APIView):
    """The signed-in user's own alert rules, one per ticker. PUT replaces the whole list."""

    serializer_class = AlertRulesSerializer

    def _body(self, rules):
        return {"defaults": _defaults(), "rules": AlertRuleSerializer(rules, many=True).data}

    @extend_schema(summary="Get my alert rules (and the global defaults)")
    def get(self, request):
        return Response(self._body(alert_rules_of(user=request.user)))

    @extend_schema(
        summary="Replace my alert rules",
        request=AlertRulesSerializer,
        responses={200: AlertRulesSerializer, 400: OpenApiResponse(description="Per-rule errors")},
    )
    def put(self, request):
        data = request.data
        items = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise AlertRulesInvalid([{"non_field_errors": ['Expected {"rules": [...]}.']}])
        if len(items) > MAX_RULES:
            raise AlertRulesInvalid(
                [{"non_field_errors": [f"At most {MAX_RULES} rules ({len(items)} sent)."]}]
            )
        cleaned, problems, seen = [], [], {}
        for index, item in enumerate(items):
            serializer = AlertRuleSerializer(data=item)
            if not isinstance(item, dict):
                problems.append({"index": index, "non_field_errors": ["Expected an object."]})
                continue
            if not serializer.is_valid():
                problems.append({"index": index, **serializer.errors})
                continue
            rule = serializer.validated_data
            if rule["ticker"] in seen:
                problems.append(
                    {
                        "index": index,
                        "ticker": [f"Duplicate of the rule at index {seen[rule['ticker']]}."],
                    }
                )
                continue
            seen[rule["ticker"]] = index
            cleaned.append(rule)
        if problems:
            raise AlertRulesInvalid(problems)
        return Response(self._body(alert_rules_replace(user=request.user, rules=cleaned)))
