"""The package-events queue message (docs/architecture.md), written by the webhook and the reconciler."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from signing_core import aws
from signing_core.timestamps import iso

RECOVERED_BY = "reconciler"  # the sender of an event the reconciler made up for one the webhook never got


def send(queue_url: str, envelope: dict, received: float) -> None:
    """Queue a Signicat event envelope for the package worker; the event id rides along for tracing."""
    message = {"event": envelope, "receivedAt": iso(datetime.fromtimestamp(received, UTC))}
    aws.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(message, separators=(",", ":")),
        MessageAttributes={"eventId": {"DataType": "String", "StringValue": envelope["id"]}},
    )
