"""The request key of a start, recorded in DynamoDB before Signicat is called: one signing per request.

A start is asked for again when its caller retries: the API's client with the same Idempotency-Key, the drop
folder's S3 event for the same object version (delivered twice, or retried after its receipt failed). Powertools
idempotency answers such a repeat while it holds the first answer, but it deletes its record when an invocation
fails, and an in-progress record lapses with the invocation's remaining time: a retry after a start that went
through would start a second signing. The start record closes that gap:

- `begin` puts `START#<hash of the request key>` (only if absent) before the first call to Signicat, with the
  signing id and fallback external reference the start uses, and a lease: the invocation's remaining time and a
  margin, so a live start always holds it;
- a repeat finds it: a finished start names its signing; a running one is answered "in progress" (`InProgress`);
  one whose lease ran out died half-way, and the repeat takes it over (a new attempt);
- before its sessions are created, an attempt records the document collection they reference: whatever a dead
  attempt left at Signicat (its sessions, even when their creation's answer was lost) is found by that
  collection and deleted by the attempt that takes over; documents no session uses, Signicat deletes itself;
- the signing item and the record's completion are one transaction (`completion`).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from signing_core import aws, settings
from signing_core.errors import Conflict, Unprocessable

STARTING = "STARTING"
STARTED = "STARTED"
LEASE_MARGIN_SECONDS = 30
# An attempt that died may have left sessions at Signicat, which keeps one until its dueDate (at most 45 days):
# its record, the way to find them, is kept that long.
UNFINISHED_KEEP_SECONDS = 46 * 24 * 3600


class InProgress(Conflict):
    """Another invocation is starting this very request; ask again shortly."""

    code = "IN_PROGRESS"


@dataclass(frozen=True)
class StartRequest:
    """What makes two starts the same request, and how long each invocation and each answer may last."""

    key: str  # the request key (see `api_key`, `dropped_object_key`)
    fingerprint: str  # the request's content: the same key with another content is refused
    lease_seconds: int  # the invocation's remaining time and a margin (`lease_seconds`)
    keep_seconds: int  # how long a finished start answers repeats


@dataclass
class Start:
    """A start record as the current attempt holds it (`request` None: a start no record keeps)."""

    request: StartRequest | None
    signing_id: str
    external_reference: str  # used when the request names none
    attempt: int
    finished: bool = False
    collection_id: str | None = None  # what an earlier attempt's sessions reference, to be deleted first
    sessions_may_exist: bool = False  # sessions this request asked for may exist at Signicat, ids unknown

    def __post_init__(self) -> None:
        self.sessions_may_exist = self.sessions_may_exist or bool(self.collection_id)


def unrecorded() -> Start:
    """A start without a request key (an API request without Idempotency-Key): nothing is recorded."""
    return Start(None, str(uuid.uuid4()), str(uuid.uuid4()), 0)


def api_key(caller: str | None, idempotency_key: str) -> str:
    """An API request: the caller's own Idempotency-Key (another principal's same key is another request)."""
    return json.dumps(["api", caller, idempotency_key])


def dropped_object_key(bucket: str, key: str, version: str) -> str:
    """A drop-folder request: one object version."""
    return json.dumps(["s3", bucket, key, version])


def fingerprint(content: Any) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def lease_seconds(remaining_millis: int | None) -> int:
    """The invocation's remaining time and a margin; 15 minutes (Lambda's longest) when unknown."""
    return (remaining_millis // 1000 if remaining_millis is not None else 900) + LEASE_MARGIN_SECONDS


def begin(
    request: StartRequest, signing_id: str | None = None, external_reference: str | None = None
) -> Start:
    """Record the start before anything is created, or find the start of the same request.

    Raises `InProgress` while another attempt holds the lease, `Unprocessable` when a finished start had another
    content. A start whose lease ran out is taken over: the answer carries what it may have left at Signicat.
    A start of a signing already recorded (a deferred start, deferred_starting.py) names its id and reference.
    """
    from botocore.exceptions import ClientError

    table = _table()
    for _ in range(3):
        now = int(time.time())
        item = {
            **_key(request.key),
            "requestKey": request.key,
            "fingerprint": request.fingerprint,
            "signingId": signing_id or str(uuid.uuid4()),
            "externalReference": external_reference or str(uuid.uuid4()),
            "state": STARTING,
            "attempt": 1,
            "leaseUntil": now + request.lease_seconds,
            "expiration": now + max(request.keep_seconds, UNFINISHED_KEEP_SECONDS),
        }
        try:
            # An item past its expiration may not be deleted by the TTL yet: it counts as absent.
            table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expiration < :now",
                ExpressionAttributeValues={":now": now},
            )
            return Start(request, item["signingId"], item["externalReference"], 1)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        found = table.get_item(Key=_key(request.key), ConsistentRead=True).get("Item")
        if found is not None:
            return _again(request, found, now)
    raise InProgress("this request is being started; retry shortly")


def _again(request: StartRequest, found: dict[str, Any], now: int) -> Start:
    attempt = int(found["attempt"])
    start = Start(request, found["signingId"], found["externalReference"], attempt, found["state"] == STARTED)
    if start.finished:
        if found["fingerprint"] != request.fingerprint:
            raise Unprocessable(
                "this idempotency key was used with a different request", code="IDEMPOTENCY_KEY_REUSED"
            )
        return start
    if int(found.get("leaseUntil", 0)) > now:
        raise InProgress("a request with this idempotency key is in progress; retry shortly")
    # A start that failed or died started nothing: its key is free again, for this content or another.
    _update(
        start,
        "SET attempt = :next, leaseUntil = :lease, fingerprint = :fingerprint",
        {":next": attempt + 1, ":lease": now + request.lease_seconds, ":fingerprint": request.fingerprint},
    )
    return Start(
        request,
        start.signing_id,
        start.external_reference,
        attempt + 1,
        collection_id=found.get("collectionId"),
    )


def record_collection(start: Start, collection_id: str) -> None:
    """Before the sessions are created: they will reference this collection, which finds them if this attempt dies."""
    if start.request is not None:
        _update(start, "SET collectionId = :collection", {":collection": collection_id})
    start.sessions_may_exist = True


def give_up(start: Start) -> None:
    """A failed attempt: the record goes, so that a retry starts afresh; when sessions may exist at Signicat it
    stays, its lease given back, so that the retry finds and deletes them first."""
    from botocore.exceptions import ClientError

    if start.request is None:
        return
    try:
        if start.sessions_may_exist:
            _update(start, "SET leaseUntil = :zero", {":zero": 0})
        else:
            _table().delete_item(
                Key=_key(start.request.key),
                ConditionExpression="attempt = :mine",
                ExpressionAttributeValues={":mine": start.attempt},
            )
    except InProgress:
        pass  # another attempt took over: the record is its
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def completion(start: Start) -> tuple[dict[str, Any], ...]:
    """The transaction item that marks the start finished, if this attempt still holds it (DynamoDB's wire form)."""
    if start.request is None:
        return ()
    expiration = int(time.time()) + start.request.keep_seconds
    update = {
        "Update": {
            "TableName": settings.common().table_name,
            "Key": {name: {"S": value} for name, value in _key(start.request.key).items()},
            "UpdateExpression": "SET #state = :started, expiration = :expiration REMOVE leaseUntil, collectionId",
            "ConditionExpression": "attempt = :mine",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {
                ":started": {"S": STARTED},
                ":expiration": {"N": str(expiration)},
                ":mine": {"N": str(start.attempt)},
            },
        }
    }
    return (update,)


def _update(start: Start, expression: str, values: dict[str, Any]) -> None:
    from botocore.exceptions import ClientError

    try:
        _table().update_item(
            Key=_key(start.request.key),
            UpdateExpression=expression,
            ConditionExpression="attempt = :mine",
            ExpressionAttributeValues={**values, ":mine": start.attempt},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise InProgress("another invocation took this request over; retry shortly") from None
        raise


def _table():
    return aws.resource("dynamodb").Table(settings.common().table_name)


def _key(request_key: str) -> dict[str, str]:
    return {"pk": f"START#{hashlib.sha256(request_key.encode()).hexdigest()}", "sk": "START"}
