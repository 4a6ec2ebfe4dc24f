"""A large start, finished out of band: accepted as STARTING (202), its documents sent to Signicat by the start
worker, its sessions recorded once they exist.

API Gateway answers 504 after 29 s, whatever the function still does: a start whose uploads could take that
long (more than `DEFER_START_BYTES` of uploaded documents) is deferred.
- `Deferral` (the API): the request is checked as any start is (400 before anything is kept), inline documents
  are put under uploads/ (the message names every document by key and version), the signing is recorded STARTING
  in the transaction that finishes the caller's start record (an Idempotency-Key repeat finds it), then the start
  message is queued. A message that cannot be queued takes the signing back: the caller's retry starts afresh.
- `finish` (the start worker): the start made at Signicat under its own start record (`["deferred",
  signingId]`: an attempt that died is taken over, its sessions deleted first), then, in one transaction, the
  signing becomes AWAITING_SIGNATURE with its sessions and their links. A start Signicat refuses, an upload
  that is gone, or the last attempt failing for any reason ends the signing FAILED, announced as any end is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from signing_core import (
    aws,
    clients,
    outcomes,
    repository,
    settings,
    start_cleanup,
    start_requests,
    starting,
    uploads,
)
from signing_core.errors import DomainError, RetryLater
from signing_core.repository import Signing
from signing_core.settings import StartSettings, StartWorkerSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signing_requests import Document, Signer, SigningRequest
from signing_core.timestamps import iso, now_iso
from signing_core.vocabulary import AWAITING_SIGNATURE, FAILED, STARTING

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600  # a finished deferred start's record answers a repeated message this long


@dataclass(frozen=True)
class Deferral:
    """The API's: a start with more than `threshold_bytes` of uploaded documents is finished by the start worker."""

    threshold_bytes: int
    bucket: str
    queue_url: str

    def __call__(
        self, start: start_requests.Start, request: SigningRequest, start_settings: StartSettings
    ) -> Signing | None:
        if sum(d.size for d in request.documents if d.upload is not None) <= self.threshold_bytes:
            return None
        request = starting.checked(request, start_settings)
        documents = [d if d.upload else uploads.stored_inline(d, self.bucket) for d in request.documents]
        signing = Signing(
            signingId=start.signing_id,
            title=request.title,
            externalReference=request.externalReference or start.external_reference,
            documentCollectionId=None,
            sessions=[],
            state=STARTING,
            signingOrder=request.signingOrder,
            source=request.source,
        )
        repository.create(signing, also=start_requests.completion(start))
        message = _message(replace(request, documents=documents, externalReference=signing.externalReference))
        try:
            aws.client("sqs").send_message(
                QueueUrl=self.queue_url, MessageBody=json.dumps({"signingId": signing.signingId, **message})
            )
        except Exception:
            repository.table().delete_item(Key=repository.key(signing.signingId))
            raise
        logger.info("signing %s accepted; its start is deferred", signing.signingId)
        return signing


def _message(request: SigningRequest) -> dict[str, Any]:
    """The start message's request (docs/architecture.md): the signers as given (the queue is encrypted)."""
    fields = {
        name: value
        for name, value in asdict(replace(request, documents=[], signers=[])).items()
        if name not in ("documents", "signers") and value is not None
    }
    if request.dueDate is not None:
        fields["dueDate"] = iso(request.dueDate)
    documents = [
        {"filename": d.filename, "contentType": d.content_type, "key": d.upload[0], "versionId": d.upload[1]}
        for d in request.documents
        if d.upload is not None
    ]
    return {"request": fields, "signers": [asdict(s) for s in request.signers], "documents": documents}


def _request(message: dict[str, Any], bucket: str, max_bytes: int) -> SigningRequest:
    fields = dict(message["request"])
    if "dueDate" in fields:
        fields["dueDate"] = datetime.fromisoformat(fields["dueDate"])
    documents: list[Document] = [
        uploads.stored_document(d["filename"], d["contentType"], d["key"], d["versionId"], bucket, max_bytes)
        for d in message["documents"]
    ]
    return SigningRequest(documents=documents, signers=[Signer(**s) for s in message["signers"]], **fields)


def finish(message: dict[str, Any], worker: StartWorkerSettings, attempt: int, lease_seconds: int) -> str:
    """Make the deferred start at Signicat and record its sessions; the state the signing is in after."""
    signing = repository.get(message["signingId"])
    if signing.state != STARTING:
        return signing.state  # a repeated message: this start is done
    once = start_requests.StartRequest(
        key=json.dumps(["deferred", signing.signingId]),
        fingerprint=signing.signingId,
        lease_seconds=lease_seconds,
        keep_seconds=KEEP_SECONDS,
    )
    start = start_requests.begin(once, signing.signingId, signing.externalReference)
    client = clients.signicat(worker.start.signicat)
    try:
        request = _request(message, worker.bucket, worker.start.max_upload_bytes)
        started = starting.start_at_signicat(client, start, request, worker.start)
    except Exception as error:
        start_requests.give_up(start)
        if attempt < worker.max_attempts and _may_succeed_later(error):
            raise
        logger.warning("deferred start of signing %s failed", signing.signingId, exc_info=True)
        return outcomes.finish(signing, FAILED, failure=_failure(error))
    try:
        _record_started(signing, started, start)
    except Exception:
        start_cleanup.delete_sessions_quietly(client, [s.sessionId for s in started.sessions])
        start_requests.give_up(start)
        raise
    uploads.forget_stored(request.documents, worker.bucket)
    starting.log_started(started, "started out of band")
    return AWAITING_SIGNATURE


def _may_succeed_later(error: Exception) -> bool:
    """Signicat's 5xx, 429 and silence, AWS's errors, a start busy elsewhere; not a refusal or a missing upload."""
    if isinstance(error, SignicatError):
        return error.retryable
    return not isinstance(error, DomainError) or isinstance(error, start_requests.InProgress | RetryLater)


def _failure(error: Exception) -> dict[str, str]:
    if isinstance(error, SignicatError):
        return {
            "code": "SIGNICAT_REFUSED" if not error.retryable else "SIGNICAT_UNAVAILABLE",
            "detail": error.summary(),
        }
    if isinstance(error, DomainError):
        return {"code": error.code, "detail": error.detail}
    return {"code": "START_FAILED", "detail": "the start could not be made; it has been logged"}


def _record_started(signing: Signing, started: Signing, start: start_requests.Start) -> None:
    """STARTING → AWAITING_SIGNATURE with the sessions, their links and the start record's completion, at once."""
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    changed_at = now_iso("milliseconds")
    values = {
        ":state": AWAITING_SIGNATURE,
        ":starting": STARTING,
        ":version": signing.version + 1,
        ":expected": signing.version,
        ":sessions": [asdict(s) for s in started.sessions],
        ":collection": started.documentCollectionId,
        ":changed": changed_at,
        ":check": repository.follow_up(repository.CHECK, signing.signingId),
    }
    update = {
        "Update": {
            "TableName": settings.common().table_name,
            "Key": {name: serialize(value) for name, value in repository.key(signing.signingId).items()},
            "UpdateExpression": "SET #state = :state, version = :version, sessions = :sessions, "
            "documentCollectionId = :collection, updatedAt = :changed, checkedAt = :changed, followUp = :check",
            "ConditionExpression": "#state = :starting AND version = :expected",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {name: serialize(value) for name, value in values.items()},
        }
    }
    links = repository.session_links(started, repository.expiration())
    aws.client("dynamodb").transact_write_items(
        TransactItems=[update, *links, *start_requests.completion(start)]
    )
