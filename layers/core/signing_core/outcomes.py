"""A signing's final state: reached, then announced (an EventBridge event for other systems, the drop-folder receipt).

At least once: the signing is marked notified only after both are done, and every path that finds a final
signing not yet notified (a retried queue message, a repeated cancel) announces it again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from signing_core import aws, receipts, repository, settings
from signing_core.errors import Conflict, RetryLater
from signing_core.repository import Signing

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


def finish(signing: Signing, state: str, **changes: Any) -> str:
    """Move `signing` to the final `state` and announce it; the state it ended in, or "already-final"."""
    changes.setdefault("sessions", signing.sessions)
    try:
        finished = repository.transition(signing, state, **changes)
    except Conflict:
        current = repository.get(signing.signingId)
        if current.is_final:
            announce(current)
            return "already-final"
        raise RetryLater(f"signing {signing.signingId} changed meanwhile") from None
    announce(finished)
    return state


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
        "EventBusName": settings.common().event_bus_name,
    }
    answer = aws.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        raise AnnouncementFailed(
            f"EventBridge refused the event for signing {signing.signingId}: {answer['Entries']}"
        )
    logger.info("announced %s for signing %s", entry["DetailType"], signing.signingId)
