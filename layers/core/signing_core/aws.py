"""boto3 clients, created once per container and only when first used.

Made lazily so that nothing talks to AWS at import time, and so that endpoints set in the environment
(AWS_ENDPOINT_URL for the offline stack, moto in tests) are read when the client is made.
"""

from __future__ import annotations

import logging
import sys
from functools import cache
from typing import Any

# botocore logs whole response bodies at DEBUG, Secrets Manager's SecretString among them.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5})
    if service == "s3":
        # Presigned URLs are SigV2 (and global-endpoint) otherwise, which buckets made since 2020 refuse.
        config = config.merge(Config(signature_version="s3v4"))
    return boto3.client(service, config=config)


@cache
def resource(service: str) -> Any:
    import boto3

    return boto3.resource(service)


def reset() -> None:
    """Forget every client and boto3's default session, which holds the resolved credentials (tests switch
    endpoints between cases; an environment restored from a snapshot must resolve its own)."""
    client.cache_clear()
    resource.cache_clear()
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
