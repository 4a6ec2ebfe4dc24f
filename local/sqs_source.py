"""An SQS event source mapping: poll a queue, invoke a function with Lambda's SQS event, delete what succeeded.

Retries and the dead-letter queue are the queue's own business (visibility timeout, redrive policy), as
with Lambda: a failed message is simply not deleted.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from local.background import Background

log = logging.getLogger(__name__)

MAX_RECEIVE = 10  # SQS answers at most 10 messages per receive


def to_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message in the shape Lambda hands it to a function."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def succeeded_messages(records: list[dict], result: Any, report_batch_item_failures: bool) -> list[dict]:
    """The records to delete after an invocation returned `result`.

    Like Lambda: without ReportBatchItemFailures a returned invocation is a success; with it, the listed
    `batchItemFailures` stay, and a malformed response or an unknown id fails the whole batch.
    """
    if not report_batch_item_failures or result is None:
        return records
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures is None:
        return records
    ids = {record["messageId"] for record in records}
    try:
        failed = {failure["itemIdentifier"] for failure in failures}
    except (KeyError, TypeError):
        log.error("malformed batchItemFailures, the whole batch is retried: %.500r", failures)
        return []
    if not failed <= ids or "" in failed or None in failed:
        log.error("batchItemFailures name messages not in the batch, the whole batch is retried: %s", failed)
        return []
    return [record for record in records if record["messageId"] not in failed]


class SqsEventSource(Background):
    """Polls `queue_url` in a thread and calls `invoke(event)`; stop() returns within about a second."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        invoke: Callable[[dict], Any],
        *,
        batch_size: int = 10,
        report_batch_item_failures: bool = False,
        region: str,
        queue_arn: str | None = None,
        wait_seconds: int = 1,
        name: str = "sqs-source",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._sqs = sqs
        self._queue_url = queue_url
        self._invoke = invoke
        self._batch_size = batch_size
        self._report_failures = report_batch_item_failures
        self._region = region
        self._queue_arn = queue_arn
        self._wait_seconds = wait_seconds
        self.name = name
        super().__init__()

    def start(self) -> SqsEventSource:
        if self._queue_arn is None:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = attributes["Attributes"]["QueueArn"]
        self._begin()
        return self

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("%s: polling %s failed", self.name, self._queue_url)
                self._stopping.wait(1)

    def poll_once(self) -> int:
        """Receive one batch, invoke, delete what succeeded; answers the batch's size."""
        messages = self._receive()
        if not messages:
            return 0
        records = [to_record(message, self._queue_arn or "", self._region) for message in messages]
        try:
            result = self._invoke({"Records": records})
        except Exception as error:
            # Nothing is deleted: the messages come back after the visibility timeout.
            log.warning(
                "%s: invocation failed, %d messages will be retried: %s", self.name, len(records), error
            )
            return len(records)
        self._delete(succeeded_messages(records, result, self._report_failures))
        return len(records)

    def _receive(self) -> list[dict]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self._batch_size, MAX_RECEIVE),
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages") or []

    def _delete(self, records: list[dict]) -> None:
        for start in range(0, len(records), MAX_RECEIVE):
            chunk = records[start : start + MAX_RECEIVE]
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            response = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
            for failure in response.get("Failed") or []:
                log.error("%s: could not delete a message: %s", self.name, failure)
