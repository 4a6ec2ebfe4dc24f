"""Packaging: a package event (completed or failed) brings its signing to where Signicat says it is, and a
signed session's PAdES is stored in S3 (the package worker)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from signing_core import clients, outcomes, repository, storage
from signing_core.errors import Conflict, RetryLater
from signing_core.repository import Signing
from signing_core.settings import SignicatSettings
from signing_core.signicat_wire import (
    BLOCKED,
    PACKAGE_FAILED,
    READY,
    REJECTED,
    SIGNED,
    lifecycle_state,
    pades_document_id,
)

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
    """Bring the signing named by the event's session to the state Signicat says it is in.

    The event only names the session: what happened is read from the API. Duplicates and late events find a
    final signing and change nothing. Raises RetryLater when the package is not ready yet.
    """
    signing = repository.find_by_session(event.session_id)
    if signing is None:
        if event.receive_count < UNKNOWN_SESSION_ATTEMPTS:
            raise RetryLater(f"no signing knows session {event.session_id} yet")
        logger.warning("dropping event %s: no signing has session %s", event.event_id, event.session_id)
        return "unknown-session"
    if signing.is_final:
        outcomes.announce(
            signing
        )  # a no-op unless an earlier try stopped between the change and its announcement
        return "already-final"
    session = clients.signicat(signicat).get_signing_session(event.session_id)
    state = lifecycle_state(session)
    signing = _with_session_state(signing, event.session_id, state)
    if state == REJECTED:
        return outcomes.finish(
            signing, repository.REJECTED, failure={"code": "REJECTED", "detail": "a signer rejected"}
        )
    if event.event_name == PACKAGE_FAILED:
        detail = f"Signicat reported packaging failed (session {state})"
        return outcomes.finish(
            signing, repository.FAILED, failure={"code": "PACKAGING_FAILED", "detail": detail}
        )
    if state != SIGNED:
        if state not in (READY, BLOCKED):
            logger.warning(
                "session %s is in an unknown state %r; treating it as not final", event.session_id, state
            )
        raise RetryLater(f"session {event.session_id} is {state}, not signed yet")
    document_id = pades_document_id(session)
    if document_id is None:
        _record(signing, repository.SIGNED)
        raise RetryLater(f"session {event.session_id} is signed but its PAdES is not packaged yet")
    return _store_package(signing, document_id, worker_id, lease_seconds, signicat, bucket)


def _with_session_state(signing: Signing, session_id: str, state: str | None) -> Signing:
    for session in signing.sessions:
        if session.sessionId == session_id and state:
            session.state = state
    return signing


def _record(signing: Signing, state: str) -> Signing:
    try:
        return repository.transition(signing, state, sessions=signing.sessions)
    except Conflict:
        return repository.get(signing.signingId)


def _store_package(
    signing: Signing,
    document_id: str,
    worker_id: str,
    lease_seconds: int,
    signicat: SignicatSettings,
    bucket: str,
) -> str:
    if not repository.claim_storage(signing.signingId, worker_id, lease_seconds):
        raise RetryLater(f"another worker is storing signing {signing.signingId}")
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
            signing, repository.FAILED, failure={"code": "INVALID_PACKAGE", "detail": str(error)}
        )
    return outcomes.finish(signing, repository.COMPLETED, signedDocument=stored.to_dict())
