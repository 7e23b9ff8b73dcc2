"""Where the daily files live: a local folder or an S3 bucket, behind one small contract.

Keys are ``/``-separated and relative to the storage's root (folder or bucket prefix)::

    2025/01/20/trades.csv                  the day's trades (written by the exporter)
    analysis/2025/01/20/analysis.json      the day's analysis (written by the analysis)

``S3Storage`` takes a boto3 client from the caller, so this module needs only the standard
library; botocore is imported when an S3 error has to be told apart.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any


class NotFound(LookupError):
    """The requested key does not exist in the storage."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no object at {key!r}")


class StorageError(OSError):
    """The storage failed for a reason other than a missing key (permissions, network, ...)."""


def trades_key(day: date) -> str:
    """Key of one day's trade CSV, relative to the storage root."""
    return f"{day:%Y/%m/%d}/trades.csv"


def analysis_key(day: date) -> str:
    """Key of one day's analysis JSON, relative to the storage root."""
    return f"analysis/{day:%Y/%m/%d}/analysis.json"


class AnalysisStorage:
    """Contract of a storage the analysis reads from and writes to.

    ``open_text(key)`` is a context manager yielding an iterator of text lines (UTF-8, a
    leading byte-order mark dropped, line endings kept) read incrementally; it raises
    ``NotFound`` when the key does not exist and ``StorageError`` for any other failure,
    including one that happens while the lines are being read.

    ``put_bytes(key, data, ...)`` stores ``data`` atomically: a reader sees the old object or
    the complete new one, never a partial one. Raises ``StorageError`` on failure.
    """

    def open_text(self, key: str) -> Any:  # pragma: no cover - contract only
        raise NotImplementedError

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> None:  # pragma: no cover - contract only
        raise NotImplementedError

    def describe(self, key: str) -> str:
        """Where ``key`` lives, for messages."""
        return key


class LocalStorage(AnalysisStorage):
    """Files under ``root``; writes go through a temporary file and a rename.

    Metadata is not kept (a folder has nowhere to put it).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def describe(self, key: str) -> str:
        return str(self.path(key))

    @contextmanager
    def open_text(self, key: str) -> Iterator[Iterator[str]]:
        try:
            handle = open(self.path(key), encoding="utf-8-sig", newline="")  # noqa: SIM115
        except FileNotFoundError:
            raise NotFound(key) from None
        except OSError as error:
            raise StorageError(f"cannot open {self.describe(key)}: {error}") from error
        with handle:
            yield handle

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(f"cannot write {target}: {error}") from error


class S3Storage(AnalysisStorage):
    """Objects in an S3 bucket under an optional key prefix, through a boto3 S3 client.

    Writes are a single ``PutObject`` with a SHA-256 checksum, which S3 either stores whole or
    refuses.
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if client is None:
            raise TypeError("S3Storage needs a boto3 S3 client")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    @contextmanager
    def open_text(self, key: str) -> Iterator[Iterator[str]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _error_code(error) in {"NoSuchKey", "404", "NotFound"}:
                raise NotFound(key) from None
            raise StorageError(f"cannot read {self.describe(key)}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"cannot read {self.describe(key)}: {error}") from error

        text = io.TextIOWrapper(
            # botocore's body checks the received length against Content-Length, so a
            # truncated download raises instead of looking like a shorter file.
            io.BufferedReader(response["Body"], buffer_size=256 * 1024),
            encoding="utf-8-sig",
            newline="",
        )
        with text:
            yield _guarded_lines(text, self.describe(key), (BotoCoreError, ClientError))

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.object_key(key),
                Body=data,
                ContentType=content_type,
                Metadata=dict(metadata or {}),
                ChecksumAlgorithm="SHA256",
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"cannot write {self.describe(key)}: {error}") from error


def _guarded_lines(
    lines: Iterator[str], where: str, errors: tuple[type[BaseException], ...]
) -> Iterator[str]:
    """Re-raise a failure of the connection in mid-read as ``StorageError``."""
    try:
        yield from lines
    except errors as error:
        raise StorageError(f"reading {where} failed: {error}") from error


def _error_code(error: Any) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
