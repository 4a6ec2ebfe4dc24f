"""Start worker: finishes a large start the API accepted (202, STARTING): its documents uploaded to Signicat, its
collection and sessions created, the signing AWAITING_SIGNATURE, or FAILED (deferred_starting.py).

One message per invocation: a start may upload up to a gigabyte, and nothing else should wait behind it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from signing_core import deferred_starting, start_requests
from signing_core.settings import StartWorkerSettings

logger = Logger()
# The core's stdlib loggers (signing_core.*) write through this one: the same JSON, level and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"signing_core"})
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def settings() -> StartWorkerSettings:
    return StartWorkerSettings.from_env()


def handle_record(record: SQSRecord, lambda_context: Any = None) -> str:
    message = json.loads(record.body)
    keys = {"signingId": message["signingId"], "attempt": int(record.attributes.approximate_receive_count)}
    remaining = lambda_context.get_remaining_time_in_millis() if lambda_context else None
    try:
        outcome = deferred_starting.finish(
            message, settings(), keys["attempt"], start_requests.lease_seconds(remaining)
        )
    except Exception:
        # The batch processor keeps the failure to itself: without this line it would be invisible.
        logger.exception("deferred start failed; it is tried again", extra=keys)
        raise
    logger.info("deferred start handled", extra={**keys, "state": outcome})
    return outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
