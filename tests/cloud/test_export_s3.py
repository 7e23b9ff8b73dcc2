"""Exports to a real S3 endpoint (moto's server on 127.0.0.1) through boto3."""

import hashlib
import os
import subprocess
import sys
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cloud.destinations import MIB, S3Destination
from cloud.exceptions import ExportError
from cloud.services import export_day
from tests.cloud.conftest import expected_csv

DAY = date(2025, 1, 20)
KEY = "2025/01/20/trades.csv"


def get(s3_client, bucket, key):
    answer = s3_client.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return answer["Body"].read(), answer


def keys(s3_client, bucket):
    listing = s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(item["Key"] for item in listing)


def test_export_day_puts_the_csv_with_rows_and_sha256_metadata(s3_client, s3_bucket, day_trades):
    destination = S3Destination(s3_bucket, "exports/tp", client=s3_client)

    result = export_day(DAY, destination)

    body, answer = get(s3_client, s3_bucket, f"exports/tp/{KEY}")
    assert body == expected_csv(day_trades)
    assert answer["Metadata"] == {"rows": "5", "sha256": hashlib.sha256(body).hexdigest()}
    assert answer["ContentType"] == "text/csv; charset=utf-8"
    assert result.key == f"s3://{s3_bucket}/exports/tp/{KEY}"
    assert (result.rows, result.bytes, result.sha256) == (
        5,
        len(body),
        answer["Metadata"]["sha256"],
    )


def test_multipart_path_when_the_day_is_above_the_threshold(s3_client, s3_bucket, day_trades):
    destination = S3Destination(s3_bucket, client=s3_client, multipart_threshold=100)

    result = export_day(DAY, destination)

    body, answer = get(s3_client, s3_bucket, KEY)
    assert body == expected_csv(day_trades)
    # A multipart object's ETag ends in -<number of parts>.
    assert answer["ETag"].strip('"').endswith("-1")
    assert answer["Metadata"] == {"rows": "5", "sha256": result.sha256}
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_multipart_upload_splits_a_large_body_into_parts(s3_client, s3_bucket):
    destination = S3Destination(
        s3_bucket, client=s3_client, multipart_threshold=MIB, part_size=5 * MIB
    )
    payload = os.urandom(256 * 1024) * 48  # 12 MiB: parts of 5, 5 and 2 MiB

    with destination.upload("big/trades.csv") as upload:
        for start in range(0, len(payload), 1_000_000):
            upload.write(payload[start : start + 1_000_000])
        # Past the threshold the body waits on disk, not in memory.
        assert upload.spool._rolled
        upload.complete(rows=7, sha256=hashlib.sha256(payload).hexdigest())

    body, answer = get(s3_client, s3_bucket, "big/trades.csv")
    assert body == payload
    assert answer["ETag"].strip('"').endswith("-3")
    assert answer["Metadata"]["rows"] == "7"


class FailingComplete:
    """The S3 client, except that completing a multipart upload fails like a dropped link."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def complete_multipart_upload(self, **kwargs):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")


def test_failed_multipart_upload_is_aborted_and_the_previous_object_stays(
    s3_client, s3_bucket, day_trades, make_trade, user
):
    export_day(DAY, S3Destination(s3_bucket, client=s3_client))
    before, answer_before = get(s3_client, s3_bucket, KEY)
    make_trade(user, "TSLA", "buy", "250", "3", "2025-01-20T12:00:00+00:00")
    failing = S3Destination(s3_bucket, client=FailingComplete(s3_client), multipart_threshold=10)

    with pytest.raises(ExportError) as caught:
        export_day(DAY, failing)

    assert "Could not connect" in str(caught.value)
    after, answer_after = get(s3_client, s3_bucket, KEY)
    assert after == before
    assert answer_after["Metadata"] == answer_before["Metadata"]
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_command_exports_several_days_and_says_so_for_empty_ones(s3_client, s3_bucket, day_trades):
    out = StringIO()
    call_command(
        "export_trades",
        "--start=2025-01-19",
        "--end=2025-01-22",
        f"--to=s3://{s3_bucket}/daily",
        stdout=out,
        stderr=StringIO(),
    )

    assert keys(s3_client, s3_bucket) == [
        "daily/2025/01/19/trades.csv",
        "daily/2025/01/20/trades.csv",
        "daily/2025/01/21/trades.csv",
    ]
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("2025-01-20  5 rows  ")
    assert lines[1].endswith(f"s3://{s3_bucket}/daily/{KEY}")
    assert lines[3] == "2025-01-22  no trades, nothing written"
    assert lines[4].startswith("Exported 3 day(s), 7 rows, ")


def test_command_rerun_gives_identical_objects(s3_client, s3_bucket, day_trades, settings):
    settings.TRADES_EXPORT_URL = f"s3://{s3_bucket}"
    call_command("export_trades", "--all", stdout=StringIO(), stderr=StringIO())
    first = {key: get(s3_client, s3_bucket, key)[0] for key in keys(s3_client, s3_bucket)}

    call_command("export_trades", "--all", stdout=StringIO(), stderr=StringIO())

    assert {key: get(s3_client, s3_bucket, key)[0] for key in keys(s3_client, s3_bucket)} == first
    assert len(first) == 3


def test_missing_bucket_ends_the_command_with_a_one_line_cause(s3_client, day_trades):
    with pytest.raises(CommandError) as caught:
        call_command(
            "export_trades", "--date=2025-01-20", "--to=s3://no-such-bucket", stdout=StringIO()
        )

    message = str(caught.value)
    assert message == "cannot write to s3://no-such-bucket: bucket 'no-such-bucket' does not exist"


def test_unreachable_endpoint_fails_and_the_previous_object_stays(
    s3_client, s3_bucket, day_trades, monkeypatch, unused_port
):
    call_command("export_trades", "--date=2025-01-20", f"--to=s3://{s3_bucket}", stdout=StringIO())
    before, _ = get(s3_client, s3_bucket, KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    with pytest.raises(CommandError) as caught:
        call_command(
            "export_trades", "--date=2025-01-20", f"--to=s3://{s3_bucket}", stdout=StringIO()
        )

    assert "Could not connect to the endpoint URL" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert get(s3_client, s3_bucket, KEY)[0] == before


def test_missing_credentials_fail_with_a_one_line_cause(s3_bucket, day_trades, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    with pytest.raises(CommandError, match="Unable to locate credentials"):
        call_command(
            "export_trades", "--date=2025-01-20", f"--to=s3://{s3_bucket}", stdout=StringIO()
        )


def test_manage_py_exits_non_zero_with_the_cause_on_stderr(aws_env):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "AWS_MAX_ATTEMPTS": "1", "PYTHONPATH": str(root)}
    env.pop("DATABASE_URL", None)

    finished = subprocess.run(
        [sys.executable, "manage.py", "export_trades", "--to=s3://no-such-bucket"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines()[-1] == (
        "CommandError: cannot write to s3://no-such-bucket: bucket 'no-such-bucket' does not exist"
    )


def test_lambda_handler_analyses_the_exported_csv(s3_client, s3_bucket, day_trades, monkeypatch):
    from lambdas.trade_analysis import app
    from tradepulse.analysis import analyse

    export_day(DAY, S3Destination(s3_bucket, "tp", client=s3_client))
    monkeypatch.setenv("TRADES_BUCKET", s3_bucket)
    monkeypatch.setenv("TRADES_PREFIX", "tp")
    app.s3_client.cache_clear()
    try:
        answer = app.handler({"date": "2025-01-20"}, None)
    finally:
        app.s3_client.cache_clear()

    assert answer == {"statusCode": 200, "message": "Analysis saved for 2025-01-20"}
    import json

    saved = json.loads(get(s3_client, s3_bucket, "tp/analysis/2025/01/20/analysis.json")[0])
    body = expected_csv(day_trades).decode()
    assert saved == analyse(body.splitlines(), DAY)
    assert saved["tickers"]["NVDA"]["buy_notional"] == "0.01"


def test_export_day_to_a_missing_bucket_raises_export_error(s3_client, day_trades):
    destination = S3Destination("no-such-bucket", client=s3_client)

    with pytest.raises(
        ExportError, match=r"cannot write s3://no-such-bucket/2025/01/20/trades.csv: .*NoSuchBucket"
    ):
        export_day(DAY, destination)
