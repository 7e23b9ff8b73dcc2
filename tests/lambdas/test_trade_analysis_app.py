import json
from datetime import date
from pathlib import Path

import pytest

from lambdas.trade_analysis import app
from tradepulse.analysis import HEADER_LINE, analyse

EVENTS = Path(app.__file__).parent / "events"
CSV = "\r\n".join(
    [
        HEADER_LINE,
        "1,alice,AAPL,buy,187.25,10,2025-01-20T14:30:00.000000Z",
        "2,bob,MSFT,sell,410.1,2.5,2025-01-20T15:00:00+00:00",
        "3,carol,AAPL,sell,188,3,2025-01-20T15:30:00Z",
    ]
)


@pytest.fixture
def bucket(s3_bucket, monkeypatch):
    monkeypatch.setenv("TRADES_BUCKET", s3_bucket)
    monkeypatch.delenv("TRADES_PREFIX", raising=False)
    # The handler keeps its client between invocations; each test has its own environment.
    app.s3_client.cache_clear()
    yield s3_bucket
    app.s3_client.cache_clear()


def api_event(query):
    event = json.loads((EVENTS / "api_gateway.json").read_text())
    event["queryStringParameters"] = query
    return event


def read_json(s3_client, bucket, key):
    return json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())


def keys(s3_client, bucket):
    return sorted(
        item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
    )


def test_direct_invocation_saves_the_analysis(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=CSV.encode())
    event = json.loads((EVENTS / "direct.json").read_text())

    response = app.handler(event, None)

    assert response == {"statusCode": 200, "message": "Analysis saved for 2025-01-20"}
    saved = read_json(s3_client, bucket, "analysis/2025/01/20/analysis.json")
    assert saved == analyse(CSV.splitlines(), date(2025, 1, 20))
    assert saved["tickers"]["AAPL"]["net_quantity"] == "7"


def test_api_gateway_event_gets_a_proxy_response(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=CSV.encode())

    response = app.handler(api_event({"date": "2025-01-20"}), None)

    assert response["statusCode"] == 200
    assert response["headers"] == {"Content-Type": "application/json"}
    assert json.loads(response["body"]) == {
        "statusCode": 200,
        "message": "Analysis saved for 2025-01-20",
    }
    assert "analysis/2025/01/20/analysis.json" in keys(s3_client, bucket)


def test_prefix_applies_to_both_the_csv_and_the_result(s3_client, bucket, monkeypatch):
    monkeypatch.setenv("TRADES_PREFIX", "exports/")
    s3_client.put_object(Bucket=bucket, Key="exports/2025/01/20/trades.csv", Body=CSV.encode())

    assert app.handler({"date": "2025-01-20"}, None)["statusCode"] == 200

    assert keys(s3_client, bucket) == [
        "exports/2025/01/20/trades.csv",
        "exports/analysis/2025/01/20/analysis.json",
    ]


def test_missing_csv_is_404(bucket):
    response = app.handler(api_event({"date": "2025-01-21"}), None)

    assert response["statusCode"] == 404
    assert "No trades file for 2025-01-21" in json.loads(response["body"])["message"]


@pytest.mark.parametrize(
    "event",
    [{}, {"date": "2025-13-01"}, {"date": "yesterday"}, {"date": None}],
)
def test_bad_or_missing_date_in_a_direct_call_is_400(bucket, event):
    response = app.handler(event, None)
    assert response["statusCode"] == 400
    assert "date" in response["message"].lower()


@pytest.mark.parametrize("query", [None, {}, {"date": "01/20/2025"}])
def test_bad_or_missing_date_through_the_api_is_400(bucket, query):
    response = app.handler(api_event(query), None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["statusCode"] == 400


def test_malformed_row_is_422_naming_the_line_and_writes_nothing(s3_client, bucket):
    bad = CSV + "\r\n4,dave,AAPL,buy,187.25,ten,2025-01-20T16:00:00Z\r\n"
    s3_client.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=bad.encode())

    response = app.handler({"date": "2025-01-20"}, None)

    assert response["statusCode"] == 422
    assert "line 5, field 'quantity'" in response["message"]
    assert keys(s3_client, bucket) == ["2025/01/20/trades.csv"]


def test_rerun_overwrites_the_previous_result(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=CSV.encode())
    app.handler({"date": "2025-01-20"}, None)
    shorter = "\n".join(CSV.splitlines()[:2])
    s3_client.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=shorter.encode())

    assert app.handler({"date": "2025-01-20"}, None)["statusCode"] == 200

    saved = read_json(s3_client, bucket, "analysis/2025/01/20/analysis.json")
    assert saved["row_count"] == 1
    assert list(saved["tickers"]) == ["AAPL"]


def test_s3_failure_other_than_not_found_is_502_with_the_cause(bucket, monkeypatch):
    monkeypatch.setenv("TRADES_BUCKET", "tradepulse-bucket-that-does-not-exist")

    response = app.handler({"date": "2025-01-20"}, None)

    assert response["statusCode"] == 502
    assert "NoSuchBucket" in response["message"]


def test_missing_bucket_setting_is_reported(bucket, monkeypatch):
    monkeypatch.delenv("TRADES_BUCKET")
    response = app.handler({"date": "2025-01-20"}, None)
    assert response["statusCode"] == 500
    assert "TRADES_BUCKET" in response["message"]
