import base64
import hashlib
from datetime import date

import pytest

from tradepulse.analysis import (
    LocalStorage,
    NotFound,
    S3Storage,
    StorageError,
    analysis_key,
    trades_key,
)


def test_keys_follow_the_day_layout():
    assert trades_key(date(2025, 1, 5)) == "2025/01/05/trades.csv"
    assert analysis_key(date(2025, 1, 5)) == "analysis/2025/01/05/analysis.json"


def test_local_storage_streams_text_without_byte_order_mark_and_keeps_line_endings(tmp_path):
    (tmp_path / "2025" / "01" / "05").mkdir(parents=True)
    (tmp_path / "2025" / "01" / "05" / "trades.csv").write_bytes(
        b"\xef\xbb\xbfa,b\r\nc,\xc3\xa9\r\n"
    )

    with LocalStorage(tmp_path).open_text("2025/01/05/trades.csv") as lines:
        assert list(lines) == ["a,b\r\n", "c,\u00e9\r\n"]


def test_local_storage_missing_key_is_not_found(tmp_path):
    with pytest.raises(NotFound) as caught, LocalStorage(tmp_path).open_text("x/trades.csv"):
        pass
    assert caught.value.key == "x/trades.csv"


def test_local_storage_put_replaces_the_file_and_leaves_no_temporary(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put_bytes("analysis/2025/01/05/analysis.json", b"old")
    storage.put_bytes("analysis/2025/01/05/analysis.json", b"new")

    folder = tmp_path / "analysis" / "2025" / "01" / "05"
    assert [path.name for path in folder.iterdir()] == ["analysis.json"]
    assert (folder / "analysis.json").read_bytes() == b"new"


def test_local_storage_write_failure_is_a_storage_error(tmp_path):
    (tmp_path / "analysis").write_text("a file where a folder should be")
    with pytest.raises(StorageError, match="cannot write"):
        LocalStorage(tmp_path).put_bytes("analysis/2025/01/05/analysis.json", b"{}")


def test_s3_storage_reads_lines_under_its_prefix(s3_client, s3_bucket):
    body = "h1,h2\n" + "".join(f"{i},\u00e9\r\n" for i in range(50_000))
    s3_client.put_object(
        Bucket=s3_bucket, Key="exports/2025/01/05/trades.csv", Body=body.encode("utf-8-sig")
    )
    storage = S3Storage(s3_bucket, "/exports/", s3_client)

    with storage.open_text("2025/01/05/trades.csv") as lines:
        received = list(lines)

    assert received[0] == "h1,h2\n"
    assert received[-1] == "49999,\u00e9\r\n"
    assert "".join(received) == body
    assert storage.describe("k") == f"s3://{s3_bucket}/exports/k"


def test_s3_storage_missing_key_is_not_found(s3_client, s3_bucket):
    with pytest.raises(NotFound), S3Storage(s3_bucket, "", s3_client).open_text("no.csv"):
        pass


def test_s3_storage_missing_bucket_is_a_storage_error(s3_client):
    storage = S3Storage("no-such-bucket-for-tradepulse", "", s3_client)
    with pytest.raises(StorageError, match="NoSuchBucket"), storage.open_text("a.csv"):
        pass
    with pytest.raises(StorageError, match="NoSuchBucket"):
        storage.put_bytes("a.json", b"{}")


def test_s3_storage_put_sends_a_sha256_checksum_and_metadata(s3_client, s3_bucket):
    storage = S3Storage(s3_bucket, "p", s3_client)
    storage.put_bytes(
        "analysis/x.json", b'{"a": 1}', content_type="application/json", metadata={"k": "v"}
    )

    head = s3_client.head_object(Bucket=s3_bucket, Key="p/analysis/x.json", ChecksumMode="ENABLED")
    expected = base64.b64encode(hashlib.sha256(b'{"a": 1}').digest()).decode()
    assert head["ChecksumSHA256"] == expected
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"k": "v"}
