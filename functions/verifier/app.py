"""Verifier: each PAdES stored under signed/ is checked with pyHanko against the trust roots; the verdict is
recorded on its signing, a failure is an event and the metric SigningVerificationFailed (EMF).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from signing_core.settings import VerifierSettings
from signing_verification import stored

logger = Logger()
# The core's and the verification's stdlib loggers write through this one: the same JSON, level and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"signing_core", "signing_verification"})
metrics = Metrics()
TRUST_ROOTS_MAX_AGE_SECONDS = 300  # a rotated root is picked up within five minutes, without a deployment


@cache
def settings() -> VerifierSettings:
    return VerifierSettings.from_env()


def trust_roots() -> bytes:
    from aws_lambda_powertools.utilities import parameters

    pem = parameters.get_parameter(settings().trust_roots_parameter, max_age=TRUST_ROOTS_MAX_AGE_SECONDS)
    return str(pem).encode()


def stored_objects(event: dict[str, Any]) -> list[stored.StoredObject]:
    """S3 notification records → the object versions created (the key arrives URL-encoded)."""
    objects = []
    for record in event.get("Records", []):
        s3 = record["s3"]
        key = unquote_plus(s3["object"]["key"])
        if key.endswith("/"):
            continue  # a folder marker is no document
        objects.append(stored.StoredObject(s3["bucket"]["name"], key, s3["object"].get("versionId")))
    return objects


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    verified = []
    for stored_object in stored_objects(event):
        verification = stored.check(stored_object, trust_roots())
        if verification is None:
            continue
        failed = not verification["valid"]
        metrics.add_metric(name="SigningVerificationFailed", unit=MetricUnit.Count, value=int(failed))
        verified.append({"key": stored_object.key, "valid": verification["valid"]})
    return {"verified": verified}
