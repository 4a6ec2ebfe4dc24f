"""Drop folder: each document created under incoming/ starts a signing; its receipt lands under receipts/."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from signing_core import intake, start_requests
from signing_core import metrics as core_metrics
from signing_core.idempotency import idempotent
from signing_core.settings import StartSettings

logger = Logger()
# The core's stdlib loggers (signing_core.*) write through this one: the same JSON, level and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"signing_core"})
# The core's metrics through Powertools Metrics (EMF lines in this log); the handler records cold starts.
metrics = core_metrics.use_powertools()


@cache
def settings() -> StartSettings:
    return StartSettings.from_env()


# The same S3 event delivered twice (S3 and Lambda both deliver at least once) answers its first receipt, and
# writes no other; a retry after a failed invocation (which Powertools forgets) finds its signing through the
# start record the use case keeps for the object version.
@idempotent(
    data_keyword_argument="dropped", key="[bucket, key, version]", expires_after_seconds=intake.REPEAT_SECONDS
)
def start_once(dropped: dict[str, str], remaining_millis: int | None = None) -> dict[str, Any]:
    dropped_object = intake.DroppedObject(
        dropped["bucket"], dropped["key"], dropped["versionId"], dropped["version"]
    )
    receipt = intake.start(dropped_object, settings(), start_requests.lease_seconds(remaining_millis))
    logger.info("dropped document handled", extra={"key": dropped["key"], "state": receipt["state"]})
    return receipt


def dropped_objects(event: dict[str, Any]) -> list[dict[str, str]]:
    """S3 notification records → bucket, URL-decoded key, and what identifies this very upload.

    Folder markers (the S3 console's "Create folder") are no documents: they are left out, with a log line.
    """
    objects = []
    for record in event.get("Records", []):
        s3 = record["s3"]
        key = unquote_plus(s3["object"]["key"])
        if intake.is_folder_marker(key):
            logger.info("folder marker ignored", extra={"key": key})
            continue
        version = s3["object"].get("versionId")
        objects.append(
            {
                "bucket": s3["bucket"]["name"],
                "key": key,
                "versionId": version,
                "version": version or s3["object"].get("sequencer") or s3["object"].get("eTag", ""),
            }
        )
    return objects


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    remaining = context.get_remaining_time_in_millis
    receipts = [
        start_once(dropped=dropped, remaining_millis=remaining(), lambda_context=context)
        for dropped in dropped_objects(event)
    ]
    return {"receipts": [{"key": r.get("source", {}).get("key"), "state": r["state"]} for r in receipts]}
