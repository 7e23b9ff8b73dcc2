"""The analysis backends against their real counterparts on loopback, or botocore's Stubber."""

import io
import json
from datetime import date

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from cloud.analysis import (
    HttpAnalysisBackend,
    LambdaAnalysisBackend,
    LocalAnalysisBackend,
    configured_backend,
)
from cloud.destinations import FileDestination, S3Destination
from cloud.exceptions import AnalysisBackendError, AnalysisTimeout
from cloud.services import export_day

DAY = date(2025, 1, 20)


def payload(data) -> StreamingBody:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def lambda_stub():
    client = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


EXPECTED_INVOKE = {
    "FunctionName": "trade-analysis",
    "InvocationType": "RequestResponse",
    "Payload": b'{"date": "2025-01-20"}',
}


def test_lambda_backend_invokes_the_function_and_returns_its_outcome(lambda_stub):
    client, stub = lambda_stub
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "Payload": payload({"statusCode": 200, "message": "Analysis saved for 2025-01-20"}),
        },
        EXPECTED_INVOKE,
    )

    outcome = LambdaAnalysisBackend("trade-analysis", client).run(DAY)

    assert outcome == (200, "Analysis saved for 2025-01-20")


@pytest.mark.parametrize("status", [400, 404, 422, 502])
def test_lambda_backend_passes_analysis_failures_through(lambda_stub, status):
    client, stub = lambda_stub
    stub.add_response(
        "invoke", {"StatusCode": 200, "Payload": payload({"statusCode": status, "message": "why"})}
    )

    assert LambdaAnalysisBackend("trade-analysis", client).run(DAY) == (status, "why")


def test_lambda_function_error_is_a_backend_error_with_its_message(lambda_stub):
    client, stub = lambda_stub
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": payload(
                {"errorMessage": "No module named 'app'", "errorType": "Runtime.ImportModuleError"}
            ),
        },
    )

    with pytest.raises(AnalysisBackendError) as caught:
        LambdaAnalysisBackend("trade-analysis", client).run(DAY)

    assert not isinstance(caught.value, AnalysisTimeout)
    assert str(caught.value) == (
        "Lambda function 'trade-analysis' raised Runtime.ImportModuleError: No module named 'app'"
    )


def test_lambda_function_timing_out_is_a_timeout(lambda_stub):
    client, stub = lambda_stub
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": payload(
                {
                    "errorMessage": "2025-01-21T06:00:03.001Z 1a2b Task timed out after 120.00 seconds"
                }
            ),
        },
    )

    with pytest.raises(AnalysisTimeout, match="Task timed out after 120.00 seconds"):
        LambdaAnalysisBackend("trade-analysis", client).run(DAY)


def test_lambda_misconfigured_function_answer_is_a_backend_error(lambda_stub):
    client, stub = lambda_stub
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "Payload": payload({"statusCode": 500, "message": "TRADES_BUCKET is not set"}),
        },
    )

    with pytest.raises(AnalysisBackendError, match="status 500: TRADES_BUCKET is not set"):
        LambdaAnalysisBackend("trade-analysis", client).run(DAY)


def test_lambda_api_error_is_a_backend_error(lambda_stub):
    client, stub = lambda_stub
    stub.add_client_error(
        "invoke", "ResourceNotFoundException", "Function not found: trade-analysis", 404
    )

    with pytest.raises(AnalysisBackendError, match="Function not found"):
        LambdaAnalysisBackend("trade-analysis", client).run(DAY)


def test_lambda_client_gives_up_after_the_timeout_setting(
    aws_env, slow_server, settings, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", slow_server.url)
    settings.TRADE_ANALYSIS_BACKEND = "lambda"
    settings.AWS_LAMBDA_FUNCTION_NAME = "trade-analysis"
    settings.TRADE_ANALYSIS_TIMEOUT = 0.3

    with pytest.raises(AnalysisTimeout, match="did not answer in time"):
        configured_backend().run(DAY)


def test_lambda_backend_needs_a_function_name():
    with pytest.raises(AnalysisBackendError, match="AWS_LAMBDA_FUNCTION_NAME"):
        LambdaAnalysisBackend("", client=None)


def test_http_backend_runs_the_function_behind_api_gateway(
    api_gateway, s3_client, s3_bucket, day_trades
):
    export_day(DAY, S3Destination(s3_bucket, client=s3_client))

    outcome = HttpAnalysisBackend(api_gateway.url, timeout=10).run(DAY)

    assert outcome == (200, "Analysis saved for 2025-01-20")
    saved = s3_client.get_object(Bucket=s3_bucket, Key="analysis/2025/01/20/analysis.json")
    assert json.loads(saved["Body"].read())["row_count"] == 5


def test_http_backend_passes_a_missing_day_through(api_gateway):
    outcome = HttpAnalysisBackend(api_gateway.url, timeout=10).run(date(2024, 2, 29))

    assert outcome.status_code == 404
    assert outcome.message.startswith("No trades file for 2024-02-29")


def test_http_backend_reports_gateway_errors_without_an_outcome(api_gateway):
    backend = HttpAnalysisBackend(api_gateway.url.replace("/Prod/", "/Dev/"), timeout=10)

    with pytest.raises(AnalysisBackendError, match="HTTP 403: Missing Authentication Token"):
        backend.run(DAY)


def test_http_backend_gateway_504_is_a_timeout(reply_server):
    reply_server.answer = (504, b'{"message": "Endpoint request timed out"}')

    with pytest.raises(AnalysisTimeout, match="HTTP 504: Endpoint request timed out"):
        HttpAnalysisBackend(reply_server.url, timeout=10).run(DAY)


def test_http_backend_non_json_answer_is_a_backend_error(reply_server):
    reply_server.answer = (200, b"<html>captive portal</html>")

    with pytest.raises(AnalysisBackendError, match="HTTP 200: <html>captive portal</html>"):
        HttpAnalysisBackend(reply_server.url, timeout=10).run(DAY)


def test_http_backend_times_out(slow_server):
    with pytest.raises(AnalysisTimeout, match="did not answer within 0.3 s"):
        HttpAnalysisBackend(slow_server.url, timeout=0.3).run(DAY)


def test_http_backend_unreachable_is_a_backend_error(unused_port):
    backend = HttpAnalysisBackend(f"http://127.0.0.1:{unused_port}/Prod/trade-analysis", 5)

    with pytest.raises(AnalysisBackendError, match="unreachable: .*Connection refused"):
        backend.run(DAY)


def test_http_backend_keeps_the_query_of_the_configured_url():
    backend = HttpAnalysisBackend("https://api.example.test/Prod/trade-analysis?stage=x", 5)

    assert backend.request_url(DAY) == (
        "https://api.example.test/Prod/trade-analysis?stage=x&date=2025-01-20"
    )


def test_local_backend_runs_in_process_on_the_export_folder(tmp_path, day_trades):
    destination = FileDestination(tmp_path)
    export_day(DAY, destination)

    outcome = LocalAnalysisBackend(destination.storage()).run(DAY)

    assert outcome == (200, "Analysis saved for 2025-01-20")
    assert (tmp_path / "analysis/2025/01/20/analysis.json").exists()


def test_unknown_backend_setting_is_a_backend_error(settings):
    settings.TRADE_ANALYSIS_BACKEND = "carrier-pigeon"

    with pytest.raises(
        AnalysisBackendError, match="unknown TRADE_ANALYSIS_BACKEND 'carrier-pigeon'"
    ):
        configured_backend()
