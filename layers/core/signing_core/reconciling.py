"""Lost webhooks (the reconciler): signings unchanged for a while are checked against Signicat."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from signing_core import clients, outcomes, package_queue, repository
from signing_core.settings import SignicatSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import (
    PACKAGE_COMPLETED,
    PACKAGE_FAILED,
    REJECTED,
    SIGNED,
    lifecycle_state,
    pades_document_id,
)
from signing_core.timestamps import iso, now_iso

logger = logging.getLogger(__name__)


def reconcile(
    older_than: timedelta, signicat: SignicatSettings, queue_url: str, limit: int = 100
) -> dict[str, int]:
    """Catch up signings unchanged for `older_than`: queue what the webhook would have, expire what is due."""
    now = datetime.now(UTC)
    cutoff = iso(now - older_than, "milliseconds")
    counts = {"checked": 0, "queued": 0, "expired": 0}
    for signing_id in repository.pending_since_before(cutoff, limit):
        signing = repository.get(signing_id)
        if signing.is_final:
            continue
        counts["checked"] += 1
        due_passed = False
        for session in signing.sessions:
            try:
                remote = clients.signicat(signicat).get_signing_session(session.sessionId)
            except SignicatError as error:
                logger.warning("reconciler could not read session %s: %s", session.sessionId, error)
                continue
            state = lifecycle_state(remote)
            event_name = None
            if state == REJECTED:
                event_name = PACKAGE_FAILED
            elif state == SIGNED and pades_document_id(remote):
                event_name = PACKAGE_COMPLETED
            if event_name:
                package_queue.send(queue_url, _recovered_event(event_name, remote), now.timestamp())
                counts["queued"] += 1
                break
            due_passed = due_passed or (state != SIGNED and _is_past(remote.get("dueDate"), now))
        else:
            if due_passed:
                failure = {"code": "EXPIRED", "detail": "the due date passed before every signer signed"}
                if outcomes.finish(signing, repository.EXPIRED, failure=failure) == repository.EXPIRED:
                    counts["expired"] += 1
    return counts


def _recovered_event(event_name: str, session: dict[str, Any]) -> dict[str, Any]:
    """The envelope Signicat would have delivered, marked as the reconciler's."""
    return {
        "id": f"reconciler-{uuid.uuid4()}",
        "timestamp": now_iso(),
        "eventName": event_name,
        "sender": "reconciler",
        "eventData": {"id": session["id"], "externalId": session.get("externalReference")},
        "accountId": None,
        "expiresAt": None,
        "tags": ["recovered"],
    }


def _is_past(moment: str | None, now: datetime) -> bool:
    if not moment:
        return False
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00")) < now
    except ValueError:
        return False
