"""Packaging: a package event (completed or failed) brings its signing to where Signicat says it is, and once
every signer signed the PAdES is stored in S3 (the package worker)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from signing_core import claims, clients, lifecycle, outcomes, repository, storage
from signing_core.errors import Conflict, RetryLater
from signing_core.repository import Signing
from signing_core.settings import SignicatSettings
from signing_core.signicat_wire import PACKAGE_FAILED, SIGNED, lifecycle_state

logger = logging.getLogger(__name__)

# An event for a session we do not know may race the signing's own write; after this many tries it is not ours.
UNKNOWN_SESSION_ATTEMPTS = 3


@dataclass(frozen=True)
class PackageEvent:
    event_id: str
    event_name: str
    session_id: str
    receive_count: int = 1


def handle_package_event(
    event: PackageEvent, worker_id: str, lease_seconds: int, signicat: SignicatSettings, bucket: str
) -> str:
    """Bring the signing named by the event's session to the state Signicat says its sessions are in.

    The event only names the session: what happened is read from the API, for every session of the signing
    (lifecycle.py decides). Duplicates and late events find a final signing and change nothing. Raises
    RetryLater when Signicat is not done yet (the PAdES is not packaged) or another worker is storing it.
    """
    signing = repository.find_by_session(event.session_id)
    if signing is None:
        if event.receive_count < UNKNOWN_SESSION_ATTEMPTS:
            raise RetryLater(f"no signing knows session {event.session_id} yet")
        logger.warning(
            "dropping event %s: no signing has session %s",
            event.event_id,
            event.session_id,
            extra={"eventId": event.event_id, "sessionId": event.session_id},
        )
        return "unknown-session"
    if signing.is_final:
        # A worker stopped between storing and recording may have left a PAdES for a signing that ended otherwise;
        # an earlier try stopped between the change and its announcement may have left it unannounced.
        _remove_orphan(signing, bucket)
        outcomes.announce(signing)
        return "already-final"
    answers = lifecycle.observe(clients.signicat(signicat), signing)
    verdict = lifecycle.assess(
        signing,
        answers,
        datetime.now(UTC),
        packaging_failed=event.event_name == PACKAGE_FAILED,
        prefer_session=event.session_id,
    )
    if verdict.package:
        return _store_package(signing, verdict, worker_id, lease_seconds, signicat, bucket)
    if verdict.ends_without_storing:
        return outcomes.finish(signing, verdict.state, sessions=verdict.sessions, failure=verdict.failure)
    _record(signing, verdict)
    if verdict.waiting_for == lifecycle.FOR_PACKAGING:
        raise RetryLater(f"session {event.session_id} is signed but its PAdES is not packaged yet")
    own_state = lifecycle_state(answers[event.session_id] or {})
    if own_state != SIGNED:
        raise RetryLater(f"session {event.session_id} is {own_state}, not signed yet")
    return "waiting-for-signers"  # the last signer's event (or the reconciler) completes it


def _record(signing: Signing, verdict: lifecycle.Verdict) -> None:
    """Keep what Signicat reports (a session signed, the signing SIGNED), so that the API shows it."""
    if verdict.state == signing.state and verdict.sessions == signing.sessions:
        return
    with contextlib.suppress(Conflict):  # a concurrent change wins: whoever made it read Signicat too
        repository.transition(signing, verdict.state, sessions=verdict.sessions)


def _store_package(
    signing: Signing,
    verdict: lifecycle.Verdict,
    worker_id: str,
    lease_seconds: int,
    signicat: SignicatSettings,
    bucket: str,
) -> str:
    _session_id, document_id = verdict.package
    if not claims.claim(signing.signingId, worker_id, lease_seconds):
        raise RetryLater(f"another worker is storing signing {signing.signingId}, or it is being cancelled")
    key = storage.signed_key(signing.signingId)
    metadata = {"signing-id": signing.signingId, storage.SOURCE_DOCUMENT_METADATA: document_id}
    try:
        # A worker stopped between storing and recording leaves the PAdES in place: record it, do not store it twice.
        stored = storage.find_signed_pdf(bucket, key, document_id)
        if stored is None:
            with clients.signicat(signicat).download_document(document_id) as stream:
                stored = storage.store_signed_pdf(stream, bucket, key, metadata)
    except storage.NotASignedPdf as error:
        return outcomes.finish(
            signing,
            repository.FAILED,
            sessions=verdict.sessions,
            failure={"code": "INVALID_PACKAGE", "detail": str(error)},
        )
    outcome = outcomes.finish(
        signing, repository.COMPLETED, sessions=verdict.sessions, signedDocument=stored.to_dict()
    )
    if outcome != repository.COMPLETED:  # it ended otherwise while this worker stored
        _remove_orphan(repository.get(signing.signingId), bucket)
    return outcome


def _remove_orphan(signing: Signing, bucket: str) -> None:
    """A signing that ended without its PAdES keeps no PAdES: no object without a record."""
    if signing.is_final and signing.state != repository.COMPLETED:
        removed = storage.remove_every_version(bucket, storage.signed_key(signing.signingId))
        if removed:
            logger.warning(
                "removed %d stored version(s) of signing %s, which is %s",
                removed,
                signing.signingId,
                signing.state,
                extra={"signingId": signing.signingId},
            )
