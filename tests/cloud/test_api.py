"""GET /api/trade-analysis/ end to end through the project's API stack."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from cloud.api import views
from tests.cloud.conftest import expected_csv
from tradepulse.analysis import analyse

RUN = "/api/trade-analysis/"
SAVED = "/api/trade-analysis/2025-01-20/"


@pytest.fixture
def user(make_user):
    """The analysis covers every user's trades: its callers here are staff unless a test says
    otherwise (``other_api`` is not)."""
    staff = make_user("alice")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    return staff


def export(day="2025-01-20"):
    call_command("export_trades", f"--date={day}", stdout=StringIO(), stderr=StringIO())


def test_local_backend_on_the_export_folder_runs_then_serves_the_analysis(
    api, export_dir, day_trades
):
    export()

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 200
    assert response.json() == {"statusCode": 200, "message": "Analysis saved for 2025-01-20"}
    saved = api.get(SAVED)
    assert saved.status_code == 200
    expected = analyse(expected_csv(day_trades).decode().splitlines(), date(2025, 1, 20))
    assert saved.json() == expected
    on_disk = json.loads((export_dir / "analysis/2025/01/20/analysis.json").read_text())
    assert on_disk == expected


def test_local_backend_on_s3_runs_then_serves_the_analysis(
    api, s3_client, s3_bucket, settings, day_trades
):
    settings.TRADES_EXPORT_URL = f"s3://{s3_bucket}/team"
    export()

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 200, response.json()
    key = "team/analysis/2025/01/20/analysis.json"
    stored = json.loads(s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    assert api.get(SAVED).json() == stored
    assert stored["totals"]["trade_count"] == 5


def test_day_without_an_export_passes_the_404_through(api, export_dir):
    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 404
    assert response.json()["statusCode"] == 404
    assert response.json()["message"].startswith("No trades file for 2025-01-20")


def test_malformed_export_passes_the_422_through(api, export_dir):
    folder = export_dir / "2025/01/20"
    folder.mkdir(parents=True)
    (folder / "trades.csv").write_text(
        "trade_id,user,ticker,side,price,quantity,timestamp\n1,a,AAPL,hold,1,1,2025-01-20T00:00:00Z\n"
    )

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 422
    assert "line 2, field 'side'" in response.json()["message"]


@pytest.mark.parametrize("value", [None, "", "20-01-2025", "2025-02-30", "2025-01-20T00:00"])
def test_bad_or_missing_date_is_a_400_naming_date_before_any_backend_call(
    api, settings, monkeypatch, value
):
    monkeypatch.setattr(views, "configured_backend", lambda: pytest.fail("backend called"))
    settings.TRADE_ANALYSIS_BACKEND = "lambda"

    response = api.get(RUN, {} if value is None else {"date": value})

    assert response.status_code == 400
    assert list(response.json()) == ["date"]


def test_saved_analysis_missing_is_a_404(api, export_dir):
    response = api.get(SAVED)

    assert response.status_code == 404
    assert response.json() == {"detail": "No analysis saved for 2025-01-20."}


def test_saved_analysis_with_an_impossible_date_is_a_400(api, export_dir):
    response = api.get("/api/trade-analysis/2025-13-01/")

    assert response.status_code == 400
    assert "date" in response.json()


def test_saved_analysis_unreadable_is_a_502(api, export_dir):
    folder = export_dir / "analysis/2025/01/20"
    folder.mkdir(parents=True)
    (folder / "analysis.json").write_text("{not json")

    response = api.get(SAVED)

    assert response.status_code == 502
    assert "is not valid JSON" in response.json()["message"]


def test_endpoints_need_authentication(anon, export_dir):
    assert anon.get(RUN, {"date": "2025-01-20"}).status_code == 401
    assert anon.get(SAVED).status_code == 401


def test_only_staff_may_run_and_read_the_all_users_analysis(api, other_api, export_dir, day_trades):
    export()
    assert api.user.is_staff and not other_api.user.is_staff

    refused = other_api.get(RUN, {"date": "2025-01-20"})
    assert refused.status_code == 403
    assert "staff" in refused.json()["detail"]
    assert api.get(RUN, {"date": "2025-01-20"}).status_code == 200
    assert other_api.get(SAVED).status_code == 403
    assert api.get(SAVED).status_code == 200


def test_every_signed_in_user_may_when_access_is_users(
    api, other_api, export_dir, day_trades, settings
):
    settings.TRADE_ANALYSIS_ACCESS = "users"
    export()

    assert other_api.get(RUN, {"date": "2025-01-20"}).status_code == 200
    assert other_api.get(SAVED).status_code == 200


def test_http_backend_end_to_end_through_api_gateway(
    api, api_gateway, s3_bucket, settings, day_trades
):
    settings.TRADES_EXPORT_URL = f"s3://{s3_bucket}"
    settings.TRADE_ANALYSIS_BACKEND = "http"
    settings.AWS_LAMBDA_API_URL = api_gateway.url
    export()

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 200
    assert response.json() == {"statusCode": 200, "message": "Analysis saved for 2025-01-20"}
    assert api.get(SAVED).json()["row_count"] == 5


def test_backend_timeout_is_a_504_with_the_cause(api, slow_server, settings):
    settings.TRADE_ANALYSIS_BACKEND = "http"
    settings.AWS_LAMBDA_API_URL = slow_server.url
    settings.TRADE_ANALYSIS_TIMEOUT = 0.3

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 504
    assert response.json() == {
        "statusCode": 504,
        "message": f"analysis API {slow_server.url.removeprefix('http://')} "
        "did not answer within 0.3 s",
    }


def test_backend_unreachable_is_a_502_with_the_cause(api, settings, unused_port):
    settings.TRADE_ANALYSIS_BACKEND = "http"
    settings.AWS_LAMBDA_API_URL = f"http://127.0.0.1:{unused_port}/Prod/trade-analysis"

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 502
    assert "Connection refused" in response.json()["message"]


def test_lambda_function_error_is_a_502_and_its_timeout_a_504(api, settings, monkeypatch):
    import boto3
    from botocore.stub import Stubber

    from tests.cloud.test_analysis_backends import payload

    client = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    monkeypatch.setattr("cloud.aws.lambda_client", lambda timeout: client)
    settings.TRADE_ANALYSIS_BACKEND = "lambda"
    settings.AWS_LAMBDA_FUNCTION_NAME = "trade-analysis"
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": payload({"errorMessage": "boom", "errorType": "KeyError"}),
            },
        )
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": payload({"errorMessage": "Task timed out after 3.00 seconds"}),
            },
        )
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "Payload": payload({"statusCode": 422, "message": "Malformed trades file"}),
            },
        )

        failed = api.get(RUN, {"date": "2025-01-20"})
        timed_out = api.get(RUN, {"date": "2025-01-20"})
        malformed = api.get(RUN, {"date": "2025-01-20"})

    assert (failed.status_code, failed.json()["message"]) == (
        502,
        "Lambda function 'trade-analysis' raised KeyError: boom",
    )
    assert timed_out.status_code == 504
    assert malformed.json() == {"statusCode": 422, "message": "Malformed trades file"}
    assert malformed.status_code == 422


def test_misconfigured_backend_is_a_502_not_a_500(api, settings):
    settings.TRADE_ANALYSIS_BACKEND = "http"
    settings.AWS_LAMBDA_API_URL = ""

    response = api.get(RUN, {"date": "2025-01-20"})

    assert response.status_code == 502
    assert "AWS_LAMBDA_API_URL" in response.json()["message"]


def test_runs_are_throttled_per_user(api, export_dir, settings):
    settings.TRADE_ANALYSIS_RATE = "2/min"

    statuses = [api.get(RUN, {"date": "2025-01-20"}).status_code for _ in range(3)]

    assert statuses == [404, 404, 429]


def test_schema_documents_both_endpoints(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    paths = json.loads(response.content)["paths"]
    run = paths["/api/trade-analysis/"]["get"]
    assert [p["name"] for p in run["parameters"]] == ["date"]
    assert {"200", "400", "404", "422", "502", "504"} <= set(run["responses"])
    assert "/api/trade-analysis/{day}/" in paths
