"""Starting a signing: the request and its documents, their checks, and the sessions at Signicat."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from signing_core import clients, metrics, repository, start_requests, storage
from signing_core.errors import InvalidInput, PayloadTooLarge
from signing_core.repository import Session, Signing
from signing_core.settings import StartSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import (
    NIN_VALIDATION,
    READY,
    REDIRECT_KINDS,
    lifecycle_state,
    references_collection,
    session_body,
    subsequent_to,
)
from signing_core.timestamps import iso
from signing_core.vocabulary import (
    AUTHENTICATION_BASED,
    CONTENT_TYPES,
    EMAIL_PATTERN,
    HTTP_URL_PATTERN,
    LANGUAGES,
    MOBILE_PATTERN,
    NBID,
    NORWEGIAN_LANGUAGES,
    PARALLEL,
    PDF,
    PKISIGNING,
    PLAIN_TEXT,
    PRINTABLE_PATTERN,
    SEQUENTIAL,
    SIGNING_FLOWS,
    SIGNING_ORDERS,
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
    """Who is expected to sign one session. With a national identity number, Signicat lets only the person it
    authenticates as that number sign (`verifyIdentity`, on unless turned off); without one, anyone with the link."""

    email: str | None = None
    mobile: str | None = None
    nationalIdentificationNumber: str | None = None
    verifyIdentity: bool | None = None  # None: verified whenever a number is given

    @property
    def verified(self) -> bool:
        return bool(self.nationalIdentificationNumber) and self.verifyIdentity is not False

    def wire(self) -> dict[str, Any]:
        """The session's `signer` object (empty: an anonymous signer, no object sent)."""
        signer: dict[str, Any] = {name: value for name, value in self._contact().items() if value}
        if self.nationalIdentificationNumber:
            signer["nationalIdentificationNumber"] = self.nationalIdentificationNumber
        if self.verified:
            signer["validations"] = [NIN_VALIDATION]
        return signer

    def summary(self) -> dict[str, Any]:
        """What the product keeps and shows: contact details, the number masked to its last 4 characters."""
        summary: dict[str, Any] = {name: value for name, value in self._contact().items() if value}
        if self.nationalIdentificationNumber:
            summary["nationalIdentificationNumber"] = mask(self.nationalIdentificationNumber)
        summary["verifyIdentity"] = self.verified
        return summary

    def _contact(self) -> dict[str, str | None]:
        return {"email": self.email, "mobile": self.mobile}


def mask(number: str) -> str:
    """A national identity number shown only by its last 4 letters or digits (none of a shorter one)."""
    kept = re.sub(r"[^0-9A-Za-z]", "", number)
    shown = kept[-4:] if len(kept) > 4 else ""
    return "*" * (len(kept) - len(shown)) + shown


@dataclass
class SigningRequest:
    title: str
    documents: list[Document]
    signers: list[Signer] = field(default_factory=lambda: [Signer()])
    externalReference: str | None = None
    identityProviders: list[str] | None = None
    signingFlow: str = AUTHENTICATION_BASED
    vendor: str | None = None  # the PKI vendor (BUYPASS, SBID, NBID, ...): required for PKISIGNING
    signingOrder: str = PARALLEL
    language: str | None = None
    redirectSettings: dict[str, str] | None = None
    dueDate: datetime | None = None
    senderDisplayName: str | None = None
    signText: str | None = None
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
    """Everything Signicat would refuse in a session, refused before anything is sent (the request's defaults
    already applied: `with_defaults`)."""
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
    if request.signingOrder not in SIGNING_ORDERS:
        invalid("signingOrder", f"must be one of {', '.join(SIGNING_ORDERS)}")
    _check_signing_setup(request)
    for index, signer in enumerate(request.signers):
        _check_signer(signer, f"signers.{index}")
    for kind, url in (request.redirectSettings or {}).items():
        if kind not in REDIRECT_KINDS:
            invalid(f"redirectSettings.{kind}", f"is none of {', '.join(REDIRECT_KINDS)}")
        if url is not None and not _is_http_url(url):
            invalid(f"redirectSettings.{kind}", "must be an absolute http(s) URL")
    if request.dueDate is not None:
        due = request.dueDate if request.dueDate.tzinfo else request.dueDate.replace(tzinfo=UTC)
        if due <= now:
            raise InvalidInput("dueDate must be in the future")
        if due > now + timedelta(days=MAX_DUE_DAYS):
            raise InvalidInput(f"dueDate must be at most {MAX_DUE_DAYS} days ahead")


def _check_signing_setup(request: SigningRequest) -> None:
    for index, idp in enumerate(request.identityProviders or []):
        if not _printable(idp):
            invalid(f"identityProviders.{index}", "must be an idpName: printable ASCII, not blank")
    if request.vendor is not None and not _printable(request.vendor):
        invalid("vendor", "must be printable ASCII, not blank")
    if request.signingFlow == PKISIGNING and not request.vendor:
        invalid("vendor", "is required for the PKISIGNING signing flow (e.g. BUYPASS, SBID, NBID)")
    if request.vendor == NBID and request.language not in NORWEGIAN_LANGUAGES:
        invalid(
            "language",
            f"must be {' or '.join(NORWEGIAN_LANGUAGES)} for vendor {NBID}: Norwegian BankID signs in Norwegian",
        )


def _check_signer(signer: Signer, at: str) -> None:
    fields = (
        ("email", EMAIL_PATTERN, "must be an e-mail address"),
        ("mobile", MOBILE_PATTERN, "must be a phone number: digits, spaces between, an optional leading +"),
        ("nationalIdentificationNumber", PRINTABLE_PATTERN, "must be printable ASCII, not blank"),
    )
    for name, pattern, reason in fields:
        value = getattr(signer, name)
        if value is not None and not _matches(pattern, value):
            invalid(f"{at}.{name}", reason)
    if signer.verifyIdentity and not signer.nationalIdentificationNumber:
        invalid(
            f"{at}.verifyIdentity", "needs nationalIdentificationNumber, the number the identity must match"
        )


def _matches(pattern: str, value: object) -> bool:
    return (
        isinstance(value, str) and re.fullmatch(pattern, value) is not None
    )  # `$` alone lets a final newline through


def _is_http_url(value: object) -> bool:
    if not _matches(HTTP_URL_PATTERN, value):
        return False
    try:
        urlsplit(value)  # an unbalanced [ or ] (an IPv6 host) is refused here
    except ValueError:
        return False
    return True


def _printable(value: object) -> bool:
    return _matches(PRINTABLE_PATTERN, value)


def invalid(name: str, reason: str) -> None:
    """Refuse the request, naming the field as the API's own validation does."""
    raise InvalidInput(f"{name}: {reason}", invalidParams=[{"name": name, "reason": reason}])


def with_defaults(request: SigningRequest, settings: StartSettings) -> SigningRequest:
    """The request with the deployment's defaults where it names none."""
    default_idp = settings.default_identity_provider
    return replace(
        request,
        identityProviders=request.identityProviders
        if request.identityProviders is not None
        else ([default_idp] if default_idp else []),
        language=request.language or settings.default_language,
        senderDisplayName=request.senderDisplayName or settings.default_sender_display_name,
    )


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
    started_from = {metrics.ENTRY_POINT: metrics.entry_point(signing.source)}
    metrics.count(metrics.SIGNINGS_STARTED, dimensions=started_from, signingId=signing.signingId)
    return stored


def _start_at_signicat(
    client, start: start_requests.Start, request: SigningRequest, settings: StartSettings
) -> Signing:
    request = with_defaults(request, settings)
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
        _session_body(request, signer, external_reference, collection_id, document_ids)
        for signer in request.signers
    ]
    start_requests.record_collection(start, collection_id)
    created = _create_sessions(client, start, bodies, request.signingOrder)
    return Signing(
        signingId=start.signing_id,
        title=request.title,
        externalReference=external_reference,
        documentCollectionId=collection_id,
        sessions=[
            Session(
                s["id"], s["signatureUrl"], lifecycle_state(s) or READY, _due(s, request), signer.summary()
            )
            for s, signer in zip(created, request.signers, strict=True)
        ],
        signingOrder=request.signingOrder,
        source=request.source,
    )


def _create_sessions(client, start: start_requests.Start, bodies: list[dict], order: str) -> list[dict]:
    """Parallel: every session in one POST. Sequential: one POST per signer, each session `subsequentTo` the one
    before (Signicat starts it BLOCKED until that one is signed). A POST that fails deletes what the ones before
    it created; whatever it cannot delete, the start record finds by the collection (`record_collection`)."""
    batches = [bodies] if order == PARALLEL else [[body] for body in bodies]
    created: list[dict] = []
    try:
        for batch in batches:
            if order == SEQUENTIAL and created:
                batch = [subsequent_to(batch[0], created[-1]["id"])]
            created += client.create_signing_sessions(batch)
    except SignicatError as error:
        # Refused (4xx): that POST created nothing; a 5xx or no answer may have created its sessions.
        refused = 400 <= error.status < 500
        if _delete_sessions_quietly(client, [session["id"] for session in created]) and refused:
            start.sessions_may_exist = False
        raise
    return created


def _due(created: dict[str, Any], request: SigningRequest) -> str | None:
    """The session's due date as Signicat set it (after it, Signicat answers 404 for the session)."""
    return created.get("dueDate") or (iso(request.dueDate) if request.dueDate else None)


def _session_body(
    request: SigningRequest,
    signer: Signer,
    external_reference: str,
    collection_id: str,
    document_ids: list[str],
) -> dict[str, Any]:
    return session_body(
        title=request.title,
        external_reference=external_reference,
        collection_id=collection_id,
        document_ids=document_ids,
        signing_flow=request.signingFlow,
        vendor=request.vendor,
        identity_providers=request.identityProviders or [],
        signer=signer.wire(),
        language=request.language,
        redirect_settings=request.redirectSettings,
        due_date=request.dueDate,
        sender_display_name=request.senderDisplayName,
        sign_text=request.signText,
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


def _delete_sessions_quietly(client, session_ids: list[str]) -> bool:
    """Delete the sessions of a start that failed; whether every one is gone."""
    gone = True
    for session_id in session_ids:
        try:
            client.delete_signing_session(session_id)
        except Exception as error:
            if isinstance(error, SignicatError) and error.status == 404:
                continue  # gone already
            gone = False
            logger.warning(
                "could not delete signing session %s after a failed start",
                session_id,
                extra={"sessionId": session_id},
            )
    return gone
