"""Starting a signing: the request and its documents, their checks, and the sessions at Signicat."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from signing_core import clients, repository, storage
from signing_core.errors import InvalidInput, PayloadTooLarge
from signing_core.repository import Session, Signing
from signing_core.settings import StartSettings
from signing_core.signicat_wire import READY, lifecycle_state, session_body
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


def start_signing(request: SigningRequest, settings: StartSettings) -> Signing:
    """Upload the documents, create one collection and one session per signer, and store the signing."""
    now = datetime.now(UTC)
    check_request(request, now)
    client = clients.signicat(settings.signicat)
    external_reference = request.externalReference or str(uuid.uuid4())
    document_ids = [
        client.upload_document(document.body(), document.content_type)["documentId"]
        for document in request.documents
    ]
    collection_id = client.create_document_collection(document_ids)["id"]
    bodies = [
        _session_body(request, signer, external_reference, collection_id, document_ids, settings)
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


def _delete_sessions_quietly(client, session_ids: list[str]) -> None:
    for session_id in session_ids:
        try:
            client.delete_signing_session(session_id)
        except Exception:
            logger.warning("could not delete signing session %s after a failed start", session_id)
