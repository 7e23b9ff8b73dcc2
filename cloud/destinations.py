"""Where exports go: a local folder or an S3 bucket, chosen by one URL.

``TRADES_EXPORT_URL`` (or ``export_trades --to``) is ``file:///PATH`` or ``s3://BUCKET[/PREFIX]``.
Both lay keys out the same way (``YYYY/MM/DD/trades.csv`` under the folder or prefix), and
both are also the storage the analysis reads from and writes to.

Every object is written whole or not at all, and carries its row count and the SHA-256 of
its body:

- folder: the CSV is written to a temporary file in the target folder and moved into place
  with ``os.replace``; the metadata goes to a sidecar ``trades.csv.meta.json``
  (``{"rows": .., "sha256": .., "bytes": ..}``), replaced the same way just after the CSV.
- S3: user metadata ``rows`` and ``sha256``. Up to the multipart threshold the body is one
  ``PutObject`` carrying its SHA-256 checksum, which S3 verifies; above it, a multipart upload
  with a checksum per part, completed only once every part is in (aborted on any error).
  S3 fixes an object's metadata when the upload starts, before the body's hash is known, so
  the body is first spooled: in memory up to the threshold, then to a temporary file. Memory
  stays bounded by the threshold and the part size whatever the size of the day.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cloud.exceptions import ExportError, InvalidDestination, one_line
from tradepulse.analysis import AnalysisStorage, LocalStorage, S3Storage

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
SIDECAR_SUFFIX = ".meta.json"
EXPORT_FILE_MODE = 0o644
MIB = 1024 * 1024
# S3 refuses parts under 5 MiB (except the last one).
MIN_PART_SIZE = 5 * MIB


class ExportUpload:
    """One object being written. Contract:

    ``write(data)`` appends bytes; nothing is visible at the destination until ``complete``.
    ``complete(rows=, sha256=)`` makes the whole object visible at once, with its metadata, in
    place of any earlier one. ``abort()`` throws the partial object away and leaves the
    destination as it was; it is safe to call after a failure and more than once. Use it as a
    context manager: leaving the block without ``complete`` aborts. Failures raise
    ``ExportError`` with a one-line cause.
    """

    def write(self, data: bytes) -> None:  # pragma: no cover - contract only
        raise NotImplementedError

    def complete(self, *, rows: int, sha256: str) -> None:  # pragma: no cover - contract only
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - contract only
        raise NotImplementedError

    def __enter__(self) -> ExportUpload:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


class ExportDestination:
    """Contract of an export target.

    ``upload(key)`` starts writing the object ``key`` (``/``-separated, relative to the
    destination's root) and returns an ``ExportUpload``. ``check()`` raises ``ExportError`` when
    the destination cannot be written at all (so a run fails before reading any trade).
    ``describe(key)`` is the object's full location for messages; ``storage()`` is the same
    place seen through the analysis' storage contract.
    """

    url: str

    def upload(self, key: str) -> ExportUpload:  # pragma: no cover - contract only
        raise NotImplementedError

    def check(self) -> None:
        """Raise ``ExportError`` if the destination is unusable; the default trusts it."""

    def describe(self, key: str) -> str:  # pragma: no cover - contract only
        raise NotImplementedError

    def storage(self) -> AnalysisStorage:  # pragma: no cover - contract only
        raise NotImplementedError


# --- Local folder ---------------------------------------------------------------------------
class FileDestination(ExportDestination):
    """A folder on this machine, ``root``; created on first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.url = self.root.absolute().as_uri()

    # Keys are laid out exactly as the analysis reads them: one place decides.
    def path(self, key: str) -> Path:
        return self.storage().path(key)

    def describe(self, key: str) -> str:
        return self.storage().describe(key)

    def check(self) -> None:
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise ExportError(
                f"cannot write under {self.root}: {existing} is not a writable folder"
            )

    def upload(self, key: str) -> ExportUpload:
        return _FileUpload(self.path(key))

    def storage(self) -> AnalysisStorage:
        return LocalStorage(self.root)


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata written beside an exported file: ``{"rows", "sha256", "bytes"}``."""
    return json.loads(Path(f"{os.fspath(path)}{SIDECAR_SUFFIX}").read_text())


class _FileUpload(ExportUpload):
    def __init__(self, target: Path) -> None:
        self.target = target
        self.size = 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
        except OSError as error:
            raise ExportError(f"cannot write {target}: {error}") from error
        # mkstemp makes files private (0600); an export is meant to be read by others.
        os.fchmod(descriptor, EXPORT_FILE_MODE)
        self.temporary: Path | None = Path(temporary)
        self.pending_sidecar: Path | None = None
        self.handle = os.fdopen(descriptor, "wb", buffering=MIB)

    def write(self, data: bytes) -> None:
        try:
            self.handle.write(data)
        except OSError as error:
            raise ExportError(f"cannot write {self.target}: {error}") from error
        self.size += len(data)

    def complete(self, *, rows: int, sha256: str) -> None:
        sidecar = self.target.with_name(self.target.name + SIDECAR_SUFFIX)
        meta = json.dumps({"rows": rows, "sha256": sha256, "bytes": self.size}, indent=2) + "\n"
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.pending_sidecar = _write_temporary(sidecar, meta.encode())
            # The CSV first: a crash in between leaves a sidecar whose sha256 no longer
            # matches, which a reader can tell, rather than a sidecar describing a file
            # that was never written.
            os.replace(self.temporary, self.target)
            self.temporary = None
            os.replace(self.pending_sidecar, sidecar)
            self.pending_sidecar = None
            _fsync_folder(self.target.parent)
        except OSError as error:
            raise ExportError(f"cannot write {self.target}: {error}") from error
        finally:
            self.abort()

    def abort(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        for leftover in (self.temporary, self.pending_sidecar):
            if leftover is not None:
                leftover.unlink(missing_ok=True)
        self.temporary = self.pending_sidecar = None


def _write_temporary(beside: Path, data: bytes) -> Path:
    """Write ``data`` durably to a new temporary file in ``beside``'s folder."""
    descriptor, name = tempfile.mkstemp(dir=beside.parent, prefix=f".{beside.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, EXPORT_FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _fsync_folder(folder: Path) -> None:
    # Makes the renames themselves durable; some filesystems refuse to open a folder.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --- S3 -------------------------------------------------------------------------------------
class S3Destination(ExportDestination):
    """Objects under ``s3://bucket/prefix/`` through a boto3 S3 client.

    Bodies up to ``multipart_threshold`` bytes go up in one ``PutObject``; larger ones in parts
    of ``part_size`` bytes (at least 5 MiB, S3's minimum).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any,
        multipart_threshold: int = 64 * MIB,
        part_size: int = 16 * MIB,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def object_key(self, key: str) -> str:
        return self.storage().object_key(key)

    def describe(self, key: str) -> str:
        return self.storage().describe(key)

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = _error_code(error)
            if code in {"403", "AccessDenied", "Forbidden"}:
                # A writer may lack s3:ListBucket; the upload itself will tell.
                return
            if code in {"404", "NoSuchBucket", "NotFound"}:
                raise ExportError(
                    f"cannot write to {self.url}: bucket {self.bucket!r} does not exist"
                ) from error
            raise ExportError(f"cannot write to {self.url}: {one_line(error)}") from error
        except BotoCoreError as error:
            raise ExportError(f"cannot write to {self.url}: {one_line(error)}") from error

    def upload(self, key: str) -> ExportUpload:
        return _S3Upload(self, key)

    def storage(self) -> AnalysisStorage:
        return S3Storage(self.bucket, self.prefix, self.client)


class _S3Upload(ExportUpload):
    def __init__(self, destination: S3Destination, key: str) -> None:
        self.destination = destination
        self.key = destination.object_key(key)
        self.where = destination.describe(key)
        # Rolls over to a temporary file past the threshold: never more in memory than that.
        self.spool: Any = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by abort()
            max_size=destination.multipart_threshold, prefix="tradepulse-export-"
        )
        self.size = 0
        self.upload_id: str | None = None

    def write(self, data: bytes) -> None:
        try:
            self.spool.write(data)
        except OSError as error:
            raise ExportError(f"cannot spool {self.where}: {error}") from error
        self.size += len(data)

    def complete(self, *, rows: int, sha256: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        metadata = {"rows": str(rows), "sha256": sha256}
        try:
            self.spool.seek(0)
            if self.size <= self.destination.multipart_threshold:
                self._put(metadata, sha256)
            else:
                self._multipart(metadata)
        except (BotoCoreError, ClientError) as error:
            raise ExportError(f"cannot write {self.where}: {one_line(error)}") from error
        except OSError as error:
            raise ExportError(f"cannot read back the spooled {self.where}: {error}") from error
        finally:
            self.abort()

    def _put(self, metadata: Mapping[str, str], sha256: str) -> None:
        self.destination.client.put_object(
            Bucket=self.destination.bucket,
            Key=self.key,
            Body=self.spool.read(),
            ContentType=CSV_CONTENT_TYPE,
            Metadata=dict(metadata),
            # Our own hash of what we generated: S3 refuses a body that arrives different.
            ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
        )

    def _multipart(self, metadata: Mapping[str, str]) -> None:
        client, bucket = self.destination.client, self.destination.bucket
        started = client.create_multipart_upload(
            Bucket=bucket,
            Key=self.key,
            ContentType=CSV_CONTENT_TYPE,
            Metadata=dict(metadata),
            ChecksumAlgorithm="SHA256",
        )
        self.upload_id = started["UploadId"]
        parts = []
        for number, body in enumerate(_read_parts(self.spool, self.destination.part_size), 1):
            checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
            answer = client.upload_part(
                Bucket=bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            parts.append({"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": checksum})
        client.complete_multipart_upload(
            Bucket=bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )
        self.upload_id = None

    def abort(self) -> None:
        self.spool.close()
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        # The failure that led here is the one worth reporting, not a failed clean-up.
        with contextlib.suppress(Exception):
            self.destination.client.abort_multipart_upload(
                Bucket=self.destination.bucket, Key=self.key, UploadId=upload_id
            )


def _read_parts(handle: Any, size: int):
    while body := handle.read(size):
        yield body


def _error_code(error: Any) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


# --- Choosing a destination -----------------------------------------------------------------
def destination_from_url(
    url: str,
    *,
    s3_client_factory: Callable[[], Any] | None = None,
    multipart_threshold: int = 64 * MIB,
    part_size: int = 16 * MIB,
) -> ExportDestination:
    """Parse ``file:///PATH`` or ``s3://BUCKET[/PREFIX]``; raise ``InvalidDestination`` else."""
    parts = urlsplit(url.strip())
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InvalidDestination(
                f"invalid export URL {url!r}: a folder is file:///ABSOLUTE/PATH"
            )
        return FileDestination(unquote(parts.path))
    if parts.scheme == "s3":
        bucket = parts.netloc
        if not bucket or parts.query or parts.fragment:
            raise InvalidDestination(
                f"invalid export URL {url!r}: a bucket is s3://BUCKET or s3://BUCKET/PREFIX"
            )
        if s3_client_factory is None:
            from cloud.aws import s3_client as s3_client_factory
        return S3Destination(
            bucket,
            unquote(parts.path),
            client=s3_client_factory(),
            multipart_threshold=multipart_threshold,
            part_size=part_size,
        )
    raise InvalidDestination(
        f"invalid export URL {url!r}: expected s3://BUCKET[/PREFIX] or file:///PATH"
    )


def configured_destination(url: str | None = None) -> ExportDestination:
    """The destination of ``url``, or of the ``TRADES_EXPORT_URL`` setting when omitted."""
    from django.conf import settings

    return destination_from_url(
        url or settings.TRADES_EXPORT_URL,
        multipart_threshold=settings.TRADES_EXPORT_MULTIPART_THRESHOLD,
        part_size=settings.TRADES_EXPORT_PART_SIZE,
    )
