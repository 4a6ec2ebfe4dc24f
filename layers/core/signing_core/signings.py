"""The use cases: start a signing, read it, store its signed package. Plain values in, plain values out."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, BinaryIO

from signing_core import outcomes, repository, storage
from signing_core.errors import Conflict, InvalidInput, PayloadTooLarge, RetryLater
from signing_core.repository import Session, Signing
from signing_core.settings import SignicatSettings, env, env_int, env_optional
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import (
    BLOCKED,
    PACKAGE_COMPLETED,
    PACKAGE_FAILED,
    READY,
    REJECTED,
    SIGNED,
    lifecycle_state,
    pades_document_id,
    session_body,
)
from signing_core.timestamps import iso, now_iso
from signing_core.vocabulary import AUTHENTICATION_BASED, CONTENT_TYPES, LANGUAGES, PDF, SIGNING_FLOWS

logger = logging.getLogger(__name__)

MAX_DUE_DAYS = 30
# An event for a session we do not know may race the signing's own write; after this many tries it is not ours.
UNKNOWN_SESSION_ATTEMPTS = 3


@dataclass
class Document:
    filename: str
    content_type: str
    content: bytes | Callable[[], BinaryIO]  # inline bytes, or a function that opens a stream when it is sent
    head: bytes  # the first bytes, to check the declared type without reading a stream twice
    size: int

    def body(self) -> bytes | BinaryIO:
        return self.content() if callable(self.content) else self.content


@dataclass
class Signer:
    email: str | None = None
    mobile: str | None = None
    nationalIdentificationNumber: str | None = None

    def as_parameters(self) -> dict[str, str]:
        return {key: value for key, value in vars(self).items() if value}


@dataclass
class SigningRequest:
    title: str
    documents: list[Document]
    signers: list[Signer] = field(default_factory=lambda: [Signer()])
    externalReference: str | None = None
    identityProviders: list[str] | None = None
    signingFlow: str = AUTHENTICATION_BASED
    language: str | None = None
    redirectSettings: dict[str, str] | None = None
    dueDate: datetime | None = None
    source: dict[str, Any] | None = None


@cache
def signicat():
    """The Sign API client, one per container (it holds the token and the connection pool)."""
    from signing_core.signicat import SignicatClient

    return SignicatClient.from_settings(SignicatSettings.from_env())


def check_document(document: Document, max_bytes: int) -> None:
    if document.content_type not in CONTENT_TYPES:
        raise InvalidInput(
            f"document {document.filename!r}: contentType must be one of {', '.join(CONTENT_TYPES)}"
        )
    if document.size == 0:
        raise InvalidInput(f"document {document.filename!r} is empty")
    if document.size > max_bytes:
        raise PayloadTooLarge(f"document {document.filename!r} is larger than {max_bytes} bytes")
    if document.content_type == PDF and not document.head.startswith(storage.PDF_MAGIC):
        raise InvalidInput(
            f"document {document.filename!r} is declared as a PDF but does not start with %PDF-"
        )


def check_request(request: SigningRequest, now: datetime) -> None:
    if not request.title or not request.title.strip():
        raise InvalidInput("title must not be empty")
    if not request.documents:
        raise InvalidInput("at least one document is needed")
    if not request.signers:
        raise InvalidInput("at least one signer is needed")
    if request.language and request.language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    if request.signingFlow not in SIGNING_FLOWS:
        raise InvalidInput(f"signingFlow must be one of {', '.join(SIGNING_FLOWS)}")
    if request.dueDate is not None:
        due = request.dueDate if request.dueDate.tzinfo else request.dueDate.replace(tzinfo=UTC)
        if due <= now:
            raise InvalidInput("dueDate must be in the future")
        if due > now + timedelta(days=MAX_DUE_DAYS):
            raise InvalidInput(f"dueDate must be at most {MAX_DUE_DAYS} days ahead")


def start_signing(request: SigningRequest) -> Signing:
    """Upload the documents, create one collection and one session per signer, and store the signing."""
    now = datetime.now(UTC)
    check_request(request, now)
    client = signicat()
    external_reference = request.externalReference or str(uuid.uuid4())
    document_ids = [
        client.upload_document(document.body(), document.content_type)["documentId"]
        for document in request.documents
    ]
    collection_id = client.create_document_collection(document_ids)["id"]
    bodies = [
        _session_body(request, signer, external_reference, collection_id, document_ids)
        for signer in request.signers
    ]
    created = client.create_signing_sessions(bodies)
    signing = Signing(
        signingId=str(uuid.uuid4()),
        title=request.title,
        externalReference=external_reference,
        documentCollectionId=collection_id,
        sessions=[Session(s["id"], s["signatureUrl"], lifecycle_state(s) or READY) for s in created],
        source=request.source,
    )
    try:
        return repository.create(signing)
    except Exception:
        # Leave nobody a link to a signing we could not record.
        _delete_sessions_quietly(client, [s.sessionId for s in signing.sessions])
        raise


def _session_body(
    request: SigningRequest,
    signer: Signer,
    external_reference: str,
    collection_id: str,
    document_ids: list[str],
) -> dict[str, Any]:
    idps = request.identityProviders
    if idps is None:
        default_idp = env_optional("DEFAULT_IDENTITY_PROVIDER")
        idps = [default_idp] if default_idp else []
    return session_body(
        title=request.title,
        external_reference=external_reference,
        collection_id=collection_id,
        document_ids=document_ids,
        signing_flow=request.signingFlow,
        identity_providers=idps,
        signer=signer.as_parameters(),
        language=request.language or env_optional("DEFAULT_LANGUAGE") or "en",
        redirect_settings=request.redirectSettings,
        due_date=request.dueDate,
    )


def _delete_sessions_quietly(client, session_ids: list[str]) -> None:
    for session_id in session_ids:
        try:
            client.delete_signing_session(session_id)
        except Exception:
            logger.warning("could not delete signing session %s after a failed start", session_id)


def describe(signing: Signing) -> dict[str, Any]:
    """The signing as the API answers it, with a fresh download URL once it is completed."""
    answer = signing.to_dict()
    answer.pop("version", None)
    answer.pop("source", None)
    if signing.signedDocument:
        document = signing.signedDocument
        answer["signedDocument"] = {
            **document,
            "downloadUrl": storage.download_url(
                document["bucket"], document["key"], env_int("DOWNLOAD_URL_TTL_SECONDS", 900)
            ),
        }
    return answer


def get_signing(signing_id: str) -> dict[str, Any]:
    return describe(repository.get(signing_id))


# --- package events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageEvent:
    event_id: str
    event_name: str
    session_id: str
    receive_count: int = 1


def handle_package_event(event: PackageEvent, worker_id: str, lease_seconds: int) -> str:
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
    session = signicat().get_signing_session(event.session_id)
    state = lifecycle_state(session)
    signing = _with_session_state(signing, event.session_id, state)
    if state == REJECTED:
        return _finish(
            signing, repository.REJECTED, failure={"code": "REJECTED", "detail": "a signer rejected"}
        )
    if event.event_name == PACKAGE_FAILED:
        detail = f"Signicat reported packaging failed (session {state})"
        return _finish(signing, repository.FAILED, failure={"code": "PACKAGING_FAILED", "detail": detail})
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
    return _store_package(signing, document_id, worker_id, lease_seconds)


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


def _finish(signing: Signing, state: str, **changes: Any) -> str:
    try:
        finished = repository.transition(signing, state, sessions=signing.sessions, **changes)
    except Conflict:
        current = repository.get(signing.signingId)
        if current.is_final:
            outcomes.announce(current)
            return "already-final"
        raise RetryLater(f"signing {signing.signingId} changed meanwhile") from None
    outcomes.announce(finished)
    return state


def _store_package(signing: Signing, document_id: str, worker_id: str, lease_seconds: int) -> str:
    if not repository.claim_storage(signing.signingId, worker_id, lease_seconds):
        raise RetryLater(f"another worker is storing signing {signing.signingId}")
    bucket = env("DOCUMENTS_BUCKET")
    key = storage.signed_key(signing.signingId)
    metadata = {"signing-id": signing.signingId, storage.SOURCE_DOCUMENT_METADATA: document_id}
    try:
        # A worker stopped between storing and recording leaves the PAdES in place: record it, do not store it twice.
        stored = storage.find_signed_pdf(bucket, key, document_id)
        if stored is None:
            with signicat().download_document(document_id) as stream:
                stored = storage.store_signed_pdf(stream, bucket, key, metadata)
    except storage.NotASignedPdf as error:
        return _finish(signing, repository.FAILED, failure={"code": "INVALID_PACKAGE", "detail": str(error)})
    return _finish(signing, repository.COMPLETED, signedDocument=stored.to_dict())


# --- cancel --------------------------------------------------------------------------------------


def cancel_signing(signing_id: str) -> Signing:
    """Delete the sessions at Signicat and end the signing as CANCELLED; cancelling twice changes nothing."""
    signing = repository.get(signing_id)
    if signing.state == repository.CANCELLED:
        outcomes.announce(signing)
        return signing
    if signing.is_final:
        raise Conflict(f"signing {signing_id} is {signing.state} and cannot be cancelled")
    for session in signing.sessions:
        try:
            signicat().delete_signing_session(session.sessionId)
        except SignicatError as error:
            if error.status != 404:  # already gone at Signicat is what we want
                raise
        session.state = repository.CANCELLED
    try:
        cancelled = repository.transition(signing, repository.CANCELLED, sessions=signing.sessions)
    except Conflict:
        return cancel_signing(signing_id)  # it changed meanwhile: decide again on what it is now
    outcomes.announce(cancelled)
    return cancelled


# --- uploads -------------------------------------------------------------------------------------

UPLOAD_URL_SECONDS = 900


def create_upload(filename: str, content_type: str) -> dict[str, Any]:
    """A presigned PUT for one large document; POST /signings then names it by uploadId."""
    if content_type not in CONTENT_TYPES:
        raise InvalidInput(f"contentType must be one of {', '.join(CONTENT_TYPES)}")
    upload_id = str(uuid.uuid4())
    url = storage.upload_url(
        env("DOCUMENTS_BUCKET"), storage.upload_key(upload_id), content_type, UPLOAD_URL_SECONDS
    )
    return {
        "uploadId": upload_id,
        "uploadUrl": url,
        "method": "PUT",
        "headers": {"Content-Type": content_type},
        "maxBytes": max_upload_bytes(),
        "expiresAt": iso(datetime.now(UTC) + timedelta(seconds=UPLOAD_URL_SECONDS)),
        "filename": filename,
    }


def max_upload_bytes() -> int:
    return env_int("MAX_UPLOAD_BYTES", 50 * 1024 * 1024)


def uploaded_document(filename: str, content_type: str, upload_id: str) -> Document:
    """A document that was PUT to its presigned URL, streamed to Signicat when the signing starts."""
    try:
        uuid.UUID(upload_id)
    except ValueError:
        raise InvalidInput(f"uploadId {upload_id!r} is not an upload id") from None
    bucket, key = env("DOCUMENTS_BUCKET"), storage.upload_key(upload_id)
    found = storage.peek(bucket, key, 8)
    if found is None:
        raise InvalidInput(f"no uploaded document for uploadId {upload_id} (never uploaded, or expired)")
    document = Document(
        filename, content_type, lambda: storage.open_stream(bucket, key), found.head, found.size
    )
    check_document(document, max_upload_bytes())
    return document


def forget_uploads(upload_ids: list[str]) -> None:
    """Uploaded documents are copied to Signicat once; keeping them would only keep personal data longer."""
    for upload_id in upload_ids:
        storage.delete(env("DOCUMENTS_BUCKET"), storage.upload_key(upload_id))


# --- lost webhooks -------------------------------------------------------------------------------


def reconcile(older_than: timedelta, limit: int = 100) -> dict[str, int]:
    """Catch up signings unchanged for `older_than`: queue what the webhook would have, expire what is due."""
    from signing_core import package_queue

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
                remote = signicat().get_signing_session(session.sessionId)
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
                package_queue.send(env("QUEUE_URL"), _recovered_event(event_name, remote), now.timestamp())
                counts["queued"] += 1
                break
            due_passed = due_passed or (state != SIGNED and _is_past(remote.get("dueDate"), now))
        else:
            if due_passed:
                failure = {"code": "EXPIRED", "detail": "the due date passed before every signer signed"}
                if _finish(signing, repository.EXPIRED, failure=failure) == repository.EXPIRED:
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
