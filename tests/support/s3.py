"""Pytest fixtures for a real S3 endpoint on loopback: moto's server in a thread.

- ``s3_endpoint_url`` (session): URL of the server, ``http://127.0.0.1:PORT``.
- ``aws_env`` (function): dummy credentials, region us-east-1, ``AWS_ENDPOINT_URL`` pointing at
  the server and no shared config files, set with monkeypatch, so any boto3 client a test or
  the code under test creates talks to the local server only.
- ``s3_client`` (function): a boto3 S3 client for the server.
- ``s3_bucket`` (function): name of a fresh, empty bucket unique to the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

AWS_REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(
    s3_endpoint_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> str:
    missing = tmp_path_factory.mktemp("aws") / "absent"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_REGION,
        "AWS_REGION": AWS_REGION,
        "AWS_ENDPOINT_URL": s3_endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(missing),
        "AWS_SHARED_CREDENTIALS_FILE": str(missing),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return s3_endpoint_url


@pytest.fixture
def s3_client(aws_env: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=aws_env, region_name=AWS_REGION)


@pytest.fixture
def s3_bucket(s3_client: Any) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    yield name
    # Buckets live in the server's memory for the whole session: empty and drop each one.
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3_client.delete_object(Bucket=name, Key=item["Key"])
    s3_client.delete_bucket(Bucket=name)
