"""Configuration checks: a wrong export URL or analysis backend is reported at start-up
(``manage.py check``, ``runserver``, ``migrate``) rather than at the first request."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

BACKENDS = ("local", "lambda", "http")


@register()
def cloud_settings(app_configs, **kwargs):
    from cloud.destinations import InvalidDestination, destination_from_url

    problems = []
    try:
        destination_from_url(settings.TRADES_EXPORT_URL, s3_client_factory=lambda: None)
    except InvalidDestination as error:
        problems.append(Error(str(error), hint="Set TRADES_EXPORT_URL", id="cloud.E001"))
    backend = settings.TRADE_ANALYSIS_BACKEND
    if backend not in BACKENDS:
        problems.append(
            Error(
                f"unknown TRADE_ANALYSIS_BACKEND {backend!r}",
                hint=f"one of {', '.join(BACKENDS)}",
                id="cloud.E002",
            )
        )
    elif backend == "lambda" and not settings.AWS_LAMBDA_FUNCTION_NAME:
        problems.append(
            Error("TRADE_ANALYSIS_BACKEND=lambda needs AWS_LAMBDA_FUNCTION_NAME", id="cloud.E003")
        )
    elif backend == "http" and not settings.AWS_LAMBDA_API_URL:
        problems.append(
            Error("TRADE_ANALYSIS_BACKEND=http needs AWS_LAMBDA_API_URL", id="cloud.E004")
        )
    return problems
