"""Package worker: for each queued Signicat event, read the signing's sessions and collection, store the signed
PAdES, record the outcome.

Batch with partial failures: a message that cannot be done yet (not packaged, another worker busy) comes
back on its own, sooner than the queue's visibility timeout, while the rest of the batch completes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from signing_core import aws, packaging, tracing
from signing_core import metrics as core_metrics
from signing_core.errors import RetryLater
from signing_core.package_queue import RECOVERED_BY
from signing_core.repository import COMPLETED
from signing_core.settings import WorkerSettings
from signing_core.timestamps import parse as parse_timestamp

logger = Logger()
# The core's stdlib loggers (signing_core.*) write through this one: the same JSON, level and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"signing_core"})
# The core's metrics through Powertools Metrics (EMF lines in this log); the handler records cold starts.
metrics = core_metrics.use_powertools()
# X-Ray: AWS calls and each Signicat call as subsegments (no user waits on this function's cold start).
tracer = tracing.use_powertools()
# A batch where every message must wait is an ordinary answer, not a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
MAX_RETRY_DELAY_SECONDS = 900


@cache
def settings() -> WorkerSettings:
    return WorkerSettings.from_env()


def handle_record(record: SQSRecord, lambda_context: Any = None) -> str:
    envelope = json.loads(record.body)["event"]
    event = packaging.PackageEvent(
        event_id=envelope["id"],
        event_name=envelope["eventName"],
        subject_id=envelope["eventData"]["id"],
        receive_count=int(record.attributes.approximate_receive_count),
    )
    keys = {"eventId": event.event_id, "subjectId": event.subject_id}
    # The claim on storing outlives this invocation, so a worker killed mid-stream is taken over later.
    lease = int(lambda_context.get_remaining_time_in_millis() / 1000) + 30 if lambda_context else 900
    try:
        outcome = packaging.handle_package_event(
            event,
            worker_id=record.message_id,
            lease_seconds=lease,
            signicat=settings().signicat,
            bucket=settings().bucket,
        )
    except RetryLater as later:
        _come_back_soon(record, event.receive_count)
        logger.info("package event deferred", extra={**keys, "reason": later.detail})
        core_metrics.count(core_metrics.PACKAGE_EVENTS_DEFERRED, **keys)
        raise
    except Exception:
        # The batch processor keeps the failure to itself: without this line it would be invisible.
        logger.exception("package event failed", extra=keys)
        raise
    logger.info("package event handled", extra={**keys, "outcome": outcome})
    if outcome == COMPLETED:  # stored now, by this message: once per signing
        _record_sign_to_stored(envelope, keys)
    return outcome


def _record_sign_to_stored(envelope: dict[str, Any], keys: dict[str, str]) -> None:
    """From Signicat's package event (the last signer signed, Signicat packaged) to the PAdES stored and the
    signing COMPLETED. An event the reconciler made up for a lost one carries its own time, not the signer's."""
    signed_at = parse_timestamp(envelope.get("timestamp"))
    if signed_at is None or envelope.get("sender") == RECOVERED_BY:
        return
    elapsed_ms = (datetime.now(UTC) - signed_at).total_seconds() * 1000
    core_metrics.milliseconds(core_metrics.SIGN_TO_STORED, max(elapsed_ms, 0.0), **keys)


def _come_back_soon(record: SQSRecord, receive_count: int) -> None:
    """Shorten the wait from the queue's visibility timeout to a backoff that grows with each try."""
    delay = min(MAX_RETRY_DELAY_SECONDS, settings().retry_delay_seconds * 2 ** (receive_count - 1))
    aws.client("sqs").change_message_visibility(
        QueueUrl=settings().queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
