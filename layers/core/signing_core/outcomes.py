"""A signing's final state: reached, then announced (an EventBridge event for other systems, the drop-folder receipt).

At least once, whatever fails when: the write that makes a signing final also leaves it to be announced
(followUp ANNOUNCE, follow_ups.py), the signing is marked announced only after both are done, and every path
that finds a final signing not yet announced (a retried queue message, a repeated cancel, the reconciler, which
looks for exactly those) announces it again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from signing_core import aws, follow_ups, receipts, repository, settings
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
    follow_ups.mark_announced(signing.signingId)


def announce_or_leave_it(signing: Signing) -> bool:
    """Announce now if that works; if not, the reconciler announces it later (it stays in follow-ups)."""
    try:
        announce(signing)
    except Exception:
        logger.exception("could not announce signing %s now; the reconciler will", signing.signingId)
        return False
    return True


def finish(signing: Signing, state: str, *, announce_later_if_it_fails: bool = False, **changes: Any) -> str:
    """Move `signing` to the final `state` and announce it; the state it ended in, or "already-final".

    An announcement that fails is raised (a queue message is retried), or with `announce_later_if_it_fails`
    left to the reconciler (the change itself has happened and is what the caller is told).
    """
    announcer = announce_or_leave_it if announce_later_if_it_fails else announce
    changes.setdefault("sessions", signing.sessions)
    try:
        finished = repository.transition(signing, state, **changes)
    except Conflict:
        current = repository.get(signing.signingId)
        if current.is_final:
            announcer(current)
            return "already-final"
        raise RetryLater(f"signing {signing.signingId} changed meanwhile") from None
    announcer(finished)
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
    put_event(DETAIL_TYPES[signing.state], event_detail(signing), signing.signingId)
    logger.info(
        "announced %s for signing %s",
        DETAIL_TYPES[signing.state],
        signing.signingId,
        extra={"signingId": signing.signingId, "state": signing.state},
    )


def put_event(detail_type: str, detail: dict[str, Any], signing_id: str) -> None:
    """One event about a signing on the product's bus; AnnouncementFailed when EventBridge refuses it."""
    entry = {
        "Source": EVENT_SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": settings.common().event_bus_name,
    }
    answer = aws.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        raise AnnouncementFailed(
            f"EventBridge refused the event for signing {signing_id}: {answer['Entries']}"
        )
