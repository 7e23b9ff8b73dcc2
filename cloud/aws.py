"""boto3 clients built from the standard AWS sources.

Region, credentials and endpoint come from boto3's own chain: ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` and ``~/.aws/credentials``, ``AWS_REGION``,
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_LAMBDA``), an instance
role, ... That is what lets the same code talk to AWS, MinIO, LocalStack or moto's server.
A fresh session per client means a changed environment (tests, a rotated profile) is seen.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=10,
        read_timeout=60,
        s3={"addressing_style": settings.AWS_S3_ADDRESSING_STYLE},
    )
    return boto3.session.Session().client("s3", config=config)


def lambda_client(timeout: float) -> Any:
    """A Lambda client that waits ``timeout`` seconds for an answer and never retries.

    A retried ``invoke`` would run the analysis again and multiply the wait of a timeout.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=min(timeout, 10),
        read_timeout=timeout,
        retries={"total_max_attempts": 1},
    )
    return boto3.session.Session().client("lambda", config=config)
