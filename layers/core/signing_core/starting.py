"""Starting a signing: the documents uploaded, the collection and the sessions created at Signicat in the
signing order, and the signing recorded. What a start asks for is in signing_requests.py, its checks in
start_checks.py, the cleanup after a failure in start_cleanup.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Any

from signing_core import clients, metrics, repository, start_cleanup, start_requests
from signing_core.repository import Session, Signing
from signing_core.settings import StartSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import READY, lifecycle_state, subsequent_to
from signing_core.signing_requests import Document, Signer, SigningRequest, signer_session_body, with_defaults
from signing_core.start_checks import check_document, check_request
from signing_core.timestamps import iso
from signing_core.vocabulary import PARALLEL, SEQUENTIAL

# The request's shapes and checks, as the entry points name them.
__all__ = ["Document", "Signer", "SigningRequest", "check_document", "start_signing"]

logger = logging.getLogger(__name__)


# Takes a start the caller would rather finish out of band (deferred_starting.py): the signing it recorded, or None.
Deferral = Callable[[start_requests.Start, SigningRequest, StartSettings], Signing | None]


def start_signing(
    request: SigningRequest | Callable[[], SigningRequest],
    settings: StartSettings,
    once: start_requests.StartRequest | None = None,
    deferral: Deferral | None = None,
) -> Signing:
    """Upload the documents, create one collection and one session per signer, and store the signing.

    With `once`, a repeat of the same request finds the first start's signing instead of making another
    (start_requests.py). `request` may be a function that reads the documents: it is called only when there is
    something to start, since a finished start's uploads are gone. A `deferral` may take the start over instead.
    """
    start = start_requests.begin(once) if once else start_requests.unrecorded()
    if start.finished:
        return repository.get(start.signing_id)
    client = clients.signicat(settings.signicat)
    try:
        request = request() if callable(request) else request
        deferred = deferral(start, request, settings) if deferral else None
        if deferred is not None:
            return deferred
        signing = start_at_signicat(client, start, request, settings)
    except Exception:
        start_requests.give_up(start)
        raise
    try:
        stored = repository.create(signing, also=start_requests.completion(start))
    except Exception:
        # Leave nobody a link to a signing we could not record.
        start_cleanup.delete_sessions_quietly(client, [s.sessionId for s in signing.sessions])
        start_requests.give_up(start)
        raise
    log_started(signing, "started")
    return stored


def log_started(signing: Signing, how: str) -> None:
    """The started line, and the started metric by entry point: once per signing, however it started."""
    logger.info(
        "signing %s %s with %d session(s)",
        signing.signingId,
        how,
        len(signing.sessions),
        extra={"signingId": signing.signingId, "sessionIds": [s.sessionId for s in signing.sessions]},
    )
    started_from = {metrics.ENTRY_POINT: metrics.entry_point(signing.source)}
    metrics.count(metrics.SIGNINGS_STARTED, dimensions=started_from, signingId=signing.signingId)


def start_at_signicat(
    client, start: start_requests.Start, request: SigningRequest, settings: StartSettings
) -> Signing:
    """The documents, the collection and the sessions at Signicat, for the signing `start` names (not stored)."""
    request = checked(request, settings)
    if start.collection_id:
        start_cleanup.delete_sessions_of(client, start.collection_id)  # what an attempt that died left
        start.sessions_may_exist = False
    external_reference = request.externalReference or start.external_reference
    document_ids = _upload_documents(client, request.documents, settings.upload_concurrency)
    collection_id = None
    try:
        collection_id = client.create_document_collection(document_ids)["id"]
        bodies = [
            signer_session_body(request, signer, external_reference, collection_id, document_ids)
            for signer in request.signers
        ]
        start_requests.record_collection(start, collection_id)
        created = _create_sessions(client, start, bodies, request.signingOrder)
    except Exception:
        start_cleanup.delete_uploaded_quietly(client, document_ids, collection_id)
        raise
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


def checked(request: SigningRequest, settings: StartSettings) -> SigningRequest:
    """The request with the deployment's defaults, refused (InvalidInput) where Signicat would refuse it."""
    request = with_defaults(request, settings)
    check_request(request, datetime.now(UTC))
    return request


def _upload_documents(client, documents: list[Document], concurrency: int) -> list[str]:
    """Every document uploaded, at most `concurrency` at a time (one start's uploads together take about as long
    as its largest, not their sum); their ids in the request's order, which is the collection's. When one fails,
    the others still queued are not sent, those in flight finish, and every one uploaded is deleted."""
    if len(documents) == 1:
        return [_upload(client, documents[0])]
    ids: list[str | None] = [None] * len(documents)
    failure: BaseException | None = None
    with ThreadPoolExecutor(
        max_workers=min(concurrency, len(documents)), thread_name_prefix="upload"
    ) as pool:
        futures = {pool.submit(_upload, client, document): index for index, document in enumerate(documents)}
        for future in as_completed(futures):
            if future.cancelled():
                continue
            try:
                ids[futures[future]] = future.result()
            except Exception as error:
                if failure is None:
                    failure = error
                    for queued in futures:
                        queued.cancel()
    if failure is not None:
        start_cleanup.delete_uploaded_quietly(client, [i for i in ids if i is not None])
        raise failure
    return [i for i in ids if i is not None]


def _upload(client, document: Document) -> str:
    return client.upload_document(document.body(), document.content_type)["documentId"]


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
        if start_cleanup.delete_sessions_quietly(client, [session["id"] for session in created]) and refused:
            start.sessions_may_exist = False
        raise
    return created


def _due(created: dict[str, Any], request: SigningRequest) -> str | None:
    """The session's due date as Signicat set it (after it, Signicat answers 404 for the session)."""
    return created.get("dueDate") or (iso(request.dueDate) if request.dueDate else None)
