"""Lost webhooks and lost announcements (the reconciler): what the product still has to do, done on a schedule.

Each run first announces final signings whose announcement did not go out, then checks signings that are
not final against Signicat, least recently looked at first (follow_ups.py), for as long as the run has time.
A signed and packaged signing gets the queue message the webhook would have sent, naming its collection (the
worker stores it); any other end Signicat reports (lifecycle.py) is recorded here, a rejection's open sessions
deleted at Signicat first. One signing's failure is logged and counted, and
the run goes on with the next.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from signing_core import clients, follow_ups, lifecycle, outcomes, package_queue, repository
from signing_core.errors import Conflict
from signing_core.repository import Signing
from signing_core.settings import SignicatSettings
from signing_core.signicat_wire import PACKAGE_COMPLETED
from signing_core.timestamps import iso, now_iso

logger = logging.getLogger(__name__)

# A run stops taking up signings this long before its time runs out: more than one signing's slowest check
# (its sessions read with the client's retries), so a run ends on its own rather than being killed.
SAFETY_MARGIN_SECONDS = 60
COUNTS = ("announced", "checked", "queued", "rejected", "expired", "cancelled", "failed", "outOfTime")


def reconcile(
    older_than: timedelta,
    signicat: SignicatSettings,
    queue_url: str,
    time_left: Callable[[], float],
    now: datetime | None = None,
) -> dict[str, int]:
    """Follow up every signing last looked at more than `older_than` ago, while `time_left()` (seconds) allows.

    `now` is the moment due dates are judged against (the clock's, unless given). Answers counts: checked
    (signings not final looked at), what came of them (queued, rejected, expired, cancelled), announced, failed,
    and outOfTime (1 when the run stopped before the end of the work).
    """
    # Looks are recorded with the clock, so the bound is the clock's: what this run looks at, it does not read
    # again.
    looked_at_before = iso(datetime.now(UTC) - older_than, "milliseconds")
    moment = now or datetime.now(UTC)
    counts = dict.fromkeys(COUNTS, 0)
    for kind, follow_up in ((repository.ANNOUNCE, _announce), (repository.CHECK, _check)):
        for signing_id in follow_ups.due(kind, looked_at_before):
            if time_left() < SAFETY_MARGIN_SECONDS:
                counts["outOfTime"] = 1
                return counts
            if kind == repository.CHECK:
                counts["checked"] += 1
            try:
                outcome = follow_up(repository.get(signing_id), signicat, queue_url, moment)
            except Exception:
                logger.exception(
                    "could not follow up signing %s; a later run tries again",
                    signing_id,
                    extra={"signingId": signing_id},
                )
                outcome = "failed"
            finally:
                follow_ups.mark_checked(signing_id)  # to the back of the queue, whatever came of it
            if outcome:
                counts[outcome] += 1
    return counts


def _announce(signing: Signing, _signicat: SignicatSettings, _queue_url: str, _now: datetime) -> str | None:
    if signing.notified:
        return None  # announced meanwhile (the index follows the table a moment later)
    outcomes.announce(signing)
    return "announced"


def _check(signing: Signing, signicat: SignicatSettings, queue_url: str, now: datetime) -> str | None:
    if signing.is_final:
        return None  # ended meanwhile; its announcement is followed up on its own
    client = clients.signicat(signicat)
    verdict = lifecycle.assess(signing, lifecycle.observe(client, signing), now)
    if verdict.package:
        package_queue.send(queue_url, _recovered_event(signing), time.time())
        return "queued"
    if verdict.ends_without_storing:
        lifecycle.withdraw(client, verdict)
        ended = outcomes.finish(signing, verdict.state, sessions=verdict.sessions, failure=verdict.failure)
        return ended.lower() if ended == verdict.state else None
    if verdict.state != signing.state or verdict.sessions != signing.sessions:
        # What Signicat reports, so that the API shows it (a session signed, the signing SIGNED); a concurrent
        # change wins: whoever made it read Signicat too.
        with contextlib.suppress(Conflict):
            repository.transition(signing, verdict.state, sessions=verdict.sessions)
    return None


def _recovered_event(signing: Signing) -> dict[str, Any]:
    """The envelope Signicat would have delivered for the packaged collection, marked as the reconciler's."""
    return {
        "id": f"reconciler-{uuid.uuid4()}",
        "timestamp": now_iso(),
        "eventName": PACKAGE_COMPLETED,
        "sender": package_queue.RECOVERED_BY,
        "eventData": {"id": signing.documentCollectionId, "externalId": signing.externalReference},
        "accountId": None,
        "expiresAt": None,
        "tags": ["recovered"],
    }
