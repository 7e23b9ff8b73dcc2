import io

from django.core.management import call_command


def test_openapi_schema_is_valid_and_warning_free(db):
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    schema = out.getvalue()
    for path in (
        "/api/trades/",
        "/api/alerts/",
        "/api/trade-analysis/",
        "/api/backtests/",
        "/api/positions/",
    ):
        assert f'"{path}"' in schema
