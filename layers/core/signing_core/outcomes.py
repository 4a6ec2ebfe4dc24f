"""Announcing a signing's final state: an EventBridge event for other systems, and the drop-folder receipt.

At least once: the signing is marked notified only after both are done, and every path that finds a final
signing not yet notified (a retried queue message, a repeated cancel) announces it again.
"""

from __future__ import annotations

import json
import logging

from signing_core import aws, receipts, repository
from signing_core.repository import Signing
from signing_core.settings import env_optional

logger = logging.getLogger(__name__)

EVENT_SOURCE = "esign.signing"
DETAIL_TYPES = {
    repository.COMPLETED: "Signing Completed",
    repository.FAILED: "Signing Failed",
    repository.REJECTED: "Signing Rejected",
    repository.EXPIRED: "Signing Expired",
    repository.CANCELLED: "Signing Cancelled",
}


class AnnouncementFailed(RuntimeError):
    """EventBridge refused the event; the caller's retry announces it again."""


def announce(signing: Signing) -> None:
    if not signing.is_final or signing.notified:
        return
    if receipts.came_from_drop_folder(signing):
        receipts.finish(signing)
    publish(signing)
    repository.mark_notified(signing.signingId)


def event_detail(signing: Signing) -> dict:
    return {
        "signingId": signing.signingId,
        "externalReference": signing.externalReference,
        "state": signing.state,
        "title": signing.title,
        "signedDocument": signing.signedDocument,
        "failure": signing.failure,
        "sessions": [session.sessionId for session in signing.sessions],
    }


def publish(signing: Signing) -> None:
    entry = {
        "Source": EVENT_SOURCE,
        "DetailType": DETAIL_TYPES[signing.state],
        "Detail": json.dumps(event_detail(signing)),
        "EventBusName": env_optional("EVENT_BUS_NAME") or "default",
    }
    answer = aws.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        raise AnnouncementFailed(
            f"EventBridge refused the event for signing {signing.signingId}: {answer['Entries']}"
        )
    logger.info("announced %s for signing %s", entry["DetailType"], signing.signingId)
