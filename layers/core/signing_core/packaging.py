"""Packaging: a package event (completed or failed) brings its signing to where Signicat says it is, and once
every signer signed and the collection is packaged, the PAdES is stored in S3 (the package worker).

Signicat's event names a signing session (the integration guide's `eventData.id`) or, for a document
collection's package, perhaps the collection (not public, so both): the signing is found by either.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from signing_core import claims, clients, lifecycle, outcomes, repository, signing_queries, storage
from signing_core.errors import Conflict, RetryLater
from signing_core.pdf_stream import NotASignedPdf
from signing_core.repository import Signing
from signing_core.settings import SignicatSettings
from signing_core.signicat_wire import PACKAGE_FAILED, SIGNED, lifecycle_state

logger = logging.getLogger(__name__)

# An event for an id we do not know may race the signing's own write; after this many tries it is not ours.
UNKNOWN_ID_ATTEMPTS = 3


@dataclass(frozen=True)
class PackageEvent:
    event_id: str
    event_name: str
    subject_id: str  # eventData.id: a signing session's id, or a document collection's
    receive_count: int = 1


def find_signing(subject_id: str) -> Signing | None:
    """The signing an event's `eventData.id` names: by one of its sessions, else by its collection."""
    return signing_queries.find_by_session(subject_id) or signing_queries.find_by_collection(subject_id)


def handle_package_event(
    event: PackageEvent, worker_id: str, lease_seconds: int, signicat: SignicatSettings, bucket: str
) -> str:
    """Bring the signing the event names to the state Signicat says its sessions and collection are in.

    The event only names the signing: what happened is read from the API, for every session and the
    collection (lifecycle.py decides). Duplicates and late events find a final signing and change nothing.
    Raises RetryLater when Signicat is not done yet (the PAdES is not packaged) or another worker is storing it.
    """
    signing = find_signing(event.subject_id)
    if signing is None:
        if event.receive_count < UNKNOWN_ID_ATTEMPTS:
            raise RetryLater(f"no signing knows session or collection {event.subject_id} yet")
        logger.warning(
            "dropping event %s: no signing has session or collection %s",
            event.event_id,
            event.subject_id,
            extra={"eventId": event.event_id, "subjectId": event.subject_id},
        )
        return "unknown-id"
    if signing.is_final:
        # A worker stopped between storing and recording may have left a PAdES for a signing that ended otherwise;
        # an earlier try stopped between the change and its announcement may have left it unannounced.
        _remove_orphan(signing, bucket)
        outcomes.announce(signing)
        return "already-final"
    client = clients.signicat(signicat)
    seen = lifecycle.observe(client, signing)
    verdict = lifecycle.assess(
        signing, seen, datetime.now(UTC), packaging_failed=event.event_name == PACKAGE_FAILED
    )
    if verdict.package:
        return _store_package(signing, verdict, worker_id, lease_seconds, signicat, bucket)
    if verdict.ends_without_storing:
        lifecycle.withdraw(client, verdict)
        return outcomes.finish(signing, verdict.state, sessions=verdict.sessions, failure=verdict.failure)
    _record(signing, verdict)
    if verdict.waiting_for == lifecycle.FOR_PACKAGING:
        raise RetryLater(f"signing {signing.signingId} is signed but its PAdES is not packaged yet")
    named = seen.sessions.get(event.subject_id)
    if named is None or lifecycle_state(named) != SIGNED:
        # Its own session is not signed, or the collection's event came before its sessions say signed.
        raise RetryLater(f"{event.subject_id} is not signed yet")
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
    document_id = verdict.package
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
    except NotASignedPdf as error:
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
        removed = storage.delete_every_version(bucket, storage.signed_key(signing.signingId))
        if removed:
            logger.warning(
                "removed %d stored version(s) of signing %s, which is %s",
                removed,
                signing.signingId,
                signing.state,
                extra={"signingId": signing.signingId},
            )
