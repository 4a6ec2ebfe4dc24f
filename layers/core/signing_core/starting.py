"""Starting a signing: the request and its documents, their checks, and the sessions at Signicat."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from signing_core import clients, repository, start_requests, storage
from signing_core.errors import InvalidInput, PayloadTooLarge
from signing_core.repository import Session, Signing
from signing_core.settings import StartSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import READY, lifecycle_state, references_collection, session_body
from signing_core.timestamps import iso
from signing_core.vocabulary import (
    AUTHENTICATION_BASED,
    CONTENT_TYPES,
    LANGUAGES,
    PDF,
    PLAIN_TEXT,
    SIGNING_FLOWS,
)

logger = logging.getLogger(__name__)

MAX_DUE_DAYS = 30
LIST_PAGE = 100  # sessions per page when looking for what a failed start left


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
    if (
        document.content_type == PLAIN_TEXT
        and isinstance(document.content, bytes)
        and not _is_utf8(document.content)
    ):
        # Signicat refuses text it cannot decode; an inline document is checked whole before it is sent.
        raise InvalidInput(f"document {document.filename!r} is declared as text/plain but is not UTF-8")


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def start_signing(
    request: SigningRequest | Callable[[], SigningRequest],
    settings: StartSettings,
    once: start_requests.StartRequest | None = None,
) -> Signing:
    """Upload the documents, create one collection and one session per signer, and store the signing.

    With `once`, a repeat of the same request finds the first start's signing instead of making another
    (start_requests.py). `request` may be a function that reads the documents: it is called only when there is
    something to start, since a finished start's uploads are gone.
    """
    start = start_requests.begin(once) if once else start_requests.unrecorded()
    if start.finished:
        return repository.get(start.signing_id)
    client = clients.signicat(settings.signicat)
    try:
        signing = _start_at_signicat(client, start, request() if callable(request) else request, settings)
    except Exception:
        start_requests.give_up(start)
        raise
    try:
        stored = repository.create(signing, also=start_requests.completion(start))
    except Exception:
        # Leave nobody a link to a signing we could not record.
        _delete_sessions_quietly(client, [s.sessionId for s in signing.sessions])
        start_requests.give_up(start)
        raise
    logger.info(
        "signing %s started with %d session(s)",
        signing.signingId,
        len(signing.sessions),
        extra={"signingId": signing.signingId, "sessionIds": [s.sessionId for s in signing.sessions]},
    )
    return stored


def _start_at_signicat(
    client, start: start_requests.Start, request: SigningRequest, settings: StartSettings
) -> Signing:
    check_request(request, datetime.now(UTC))
    if start.collection_id:
        _delete_sessions_of(client, start.collection_id)  # what an attempt that died left
        start.sessions_may_exist = False
    external_reference = request.externalReference or start.external_reference
    document_ids = [
        client.upload_document(document.body(), document.content_type)["documentId"]
        for document in request.documents
    ]
    collection_id = client.create_document_collection(document_ids)["id"]
    bodies = [
        _session_body(request, signer, external_reference, collection_id, document_ids, settings)
        for signer in request.signers
    ]
    start_requests.record_collection(start, collection_id)
    try:
        created = client.create_signing_sessions(bodies)
    except SignicatError as error:
        if 400 <= error.status < 500:
            start.sessions_may_exist = False  # refused: nothing was created (a 5xx or no answer may have)
        raise
    return Signing(
        signingId=start.signing_id,
        title=request.title,
        externalReference=external_reference,
        documentCollectionId=collection_id,
        sessions=[
            Session(s["id"], s["signatureUrl"], lifecycle_state(s) or READY, _due(s, request))
            for s in created
        ],
        source=request.source,
    )


def _due(created: dict[str, Any], request: SigningRequest) -> str | None:
    """The session's due date as Signicat set it (after it, Signicat answers 404 for the session)."""
    return created.get("dueDate") or (iso(request.dueDate) if request.dueDate else None)


def _session_body(
    request: SigningRequest,
    signer: Signer,
    external_reference: str,
    collection_id: str,
    document_ids: list[str],
    settings: StartSettings,
) -> dict[str, Any]:
    idps = request.identityProviders
    if idps is None:
        default_idp = settings.default_identity_provider
        idps = [default_idp] if default_idp else []
    return session_body(
        title=request.title,
        external_reference=external_reference,
        collection_id=collection_id,
        document_ids=document_ids,
        signing_flow=request.signingFlow,
        identity_providers=idps,
        signer=signer.as_parameters(),
        language=request.language or settings.default_language,
        redirect_settings=request.redirectSettings,
        due_date=request.dueDate,
    )


def _delete_sessions_of(client, collection_id: str) -> None:
    """Delete every session at Signicat that references `collection_id`: what an attempt that died left."""
    offset, deleted = 0, 0
    while True:
        page = client.list_signing_sessions(limit=LIST_PAGE, offset=offset)
        ours = [session for session in page if references_collection(session, collection_id)]
        for session in ours:
            try:
                client.delete_signing_session(session["id"])
            except SignicatError as error:
                if error.status != 404:  # gone already is what we want
                    raise
        deleted += len(ours)
        if len(page) < LIST_PAGE:
            break
        offset += len(page) - len(ours)  # the deleted ones no longer take places in the listing
    logger.info("deleted %d sessions a failed start left on collection %s", deleted, collection_id)


def _delete_sessions_quietly(client, session_ids: list[str]) -> None:
    for session_id in session_ids:
        try:
            client.delete_signing_session(session_id)
        except Exception:
            logger.warning(
                "could not delete signing session %s after a failed start",
                session_id,
                extra={"sessionId": session_id},
            )
