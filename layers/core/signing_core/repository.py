"""The signing state machine, kept in DynamoDB with conditional, versioned transitions.

One table (see docs/architecture.md): the signing item (GSI byCollection, on its document collection), one
link item per signing session (GSI bySession), and a sparse `followUp` attribute (GSI byFollowUp, sorted by `checkedAt`) on every signing the reconciler
still has work with: CHECK while it is not final, ANNOUNCE once final until its announcement went out
(follow_ups.py reads it; claims.py holds the storage claim).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from signing_core import aws, metrics, settings
from signing_core.errors import Conflict, NotFound
from signing_core.signicat_wire import READY
from signing_core.timestamps import now_iso
from signing_core.vocabulary import (  # noqa: F401 - every state is read from here too (repository.REJECTED)
    AWAITING_SIGNATURE,
    CANCELLED,
    COMPLETED,
    EXPIRED,
    FAILED,
    FINAL_STATES,
    PARALLEL,
    REJECTED,
    SIGNED,
    STARTING,
)

# Every final state can be reached from every state that is not final (docs/architecture.md has the table of
# what Signicat reports and where it leads: lifecycle.py).
TRANSITIONS = {
    STARTING: frozenset({AWAITING_SIGNATURE}) | FINAL_STATES,  # deferred_starting.py
    AWAITING_SIGNATURE: frozenset({SIGNED}) | FINAL_STATES,
    SIGNED: FINAL_STATES,
}
# What the reconciler still has to do about a signing (the sparse attribute `followUp`).
CHECK = "CHECK"  # not final: check it against Signicat
ANNOUNCE = "ANNOUNCE"  # final, not announced yet: announce it
# byFollowUp's partition key is `<kind>#<shard>`: one key value would put every signing's writes to the index on
# one partition (about 1,000 writes per second: docs/scaling.md). The reconciler reads every shard.
FOLLOW_UP_SHARDS = 16


def follow_up(kind: str, signing_id: str) -> str:
    """The signing's `followUp` value for `kind`: its shard is a stable hash of its id."""
    shard = int.from_bytes(hashlib.sha256(signing_id.encode()).digest()[:4], "big") % FOLLOW_UP_SHARDS
    return f"{kind}#{shard}"


def follow_up_keys(kind: str) -> list[str]:
    """Every `followUp` value of `kind`: each shard's, and the unsharded one of signings stored before sharding."""
    return [kind, *(f"{kind}#{shard}" for shard in range(FOLLOW_UP_SHARDS))]


def _changed_at() -> str:
    return now_iso("milliseconds")


@dataclass
class Session:
    sessionId: str
    signatureUrl: str
    state: str = READY  # as Signicat reports it; CANCELLED or EXPIRED once Signicat no longer has it
    dueDate: str | None = None  # as Signicat set it: after it, Signicat answers 404 for the session
    signer: dict[str, Any] | None = None  # who is expected: e-mail, mobile, the identity number masked


@dataclass
class Signing:
    signingId: str
    title: str
    externalReference: str
    documentCollectionId: str | None  # None while STARTING
    sessions: list[Session]  # in signing order; none while STARTING
    state: str = AWAITING_SIGNATURE
    signingOrder: str = PARALLEL  # sequential: each session waits for the one before it
    version: int = 1
    createdAt: str = field(default_factory=_changed_at)
    updatedAt: str = field(default_factory=_changed_at)
    signedDocument: dict[str, Any] | None = None
    failure: dict[str, str] | None = None
    source: dict[str, Any] | None = None  # where the request came from (e.g. an S3 object), for receipts
    notified: bool = False  # the final state has been announced (EventBridge, receipt)
    verification: dict[str, Any] | None = None  # the verdict on the stored PAdES (verdicts.py)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Signing:
        signed = item.get("signedDocument")
        if signed and "size" in signed:
            signed = {**signed, "size": int(signed["size"])}
        return cls(
            signingId=item["signingId"],
            title=item["title"],
            externalReference=item["externalReference"],
            documentCollectionId=item.get("documentCollectionId"),
            sessions=[Session(**session) for session in item["sessions"]],
            state=item["state"],
            signingOrder=item.get("signingOrder", PARALLEL),
            version=int(item["version"]),
            createdAt=item["createdAt"],
            updatedAt=item["updatedAt"],
            signedDocument=signed,
            failure=item.get("failure"),
            source=item.get("source"),
            notified=bool(item.get("notified", False)),
            verification=_plain(item.get("verification")),
        )


def _plain(value: Any) -> Any:
    """DynamoDB's numbers (Decimal) as ints, all the way down."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def table():
    return aws.resource("dynamodb").Table(settings.common().table_name)


def key(signing_id: str) -> dict[str, str]:
    """The signing item's primary key."""
    return {"pk": f"SIGNING#{signing_id}", "sk": "SIGNING"}


def signing_id_of(item: dict[str, Any]) -> str:
    return item["pk"].removeprefix("SIGNING#")


def month_of(timestamp: str) -> str:
    """The month a signing is listed under (`createdMonth`, GSI byMonth) for its `createdAt`."""
    return timestamp[:7]


def expiration() -> int:
    return int(time.time()) + settings.common().retention_days * 86400


def create(signing: Signing, also: tuple[dict[str, Any], ...] = ()) -> Signing:
    """Store a new signing and its session links in one transaction, with `also` (items in DynamoDB's form)."""
    table_name = settings.common().table_name
    item = {**key(signing.signingId), **signing.to_dict(), "expiration": expiration()}
    item.update(checkedAt=signing.createdAt, createdMonth=month_of(signing.createdAt))
    if signing.state != STARTING:  # a start still under way has nothing at Signicat to check yet
        item.update(followUp=follow_up(CHECK, signing.signingId))
    writes = [
        {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    ]
    aws.client("dynamodb").transact_write_items(
        TransactItems=[*_serialize(writes), *session_links(signing, item["expiration"]), *also]
    )
    return signing


def session_links(signing: Signing, expiration: int) -> list[dict[str, Any]]:
    """One link item per session (GSI bySession), as transaction items in DynamoDB's form."""
    table_name = settings.common().table_name
    links = [
        {
            "pk": f"SIGNING#{signing.signingId}",
            "sk": f"SESSION#{session.sessionId}",
            "sessionId": session.sessionId,
            "signingId": signing.signingId,
            "expiration": expiration,
        }
        for session in signing.sessions
    ]
    return _serialize([{"Put": {"TableName": table_name, "Item": link}} for link in links])


def _serialize(writes: list[dict]) -> list[dict]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    for write in writes:
        put = write["Put"]
        put["Item"] = {key: serializer.serialize(value) for key, value in put["Item"].items()}
    return writes


def get(signing_id: str) -> Signing:
    item = table().get_item(Key=key(signing_id), ConsistentRead=True).get("Item")
    if not item:
        raise NotFound(f"no signing with id {signing_id}")
    return Signing.from_item(item)


def transition(signing: Signing, state: str, **changes: Any) -> Signing:
    """Move `signing` to `state` if nobody changed it since it was read; raise Conflict otherwise.

    Moving to the state it is already in only applies `changes` (e.g. one more session signed). A change counts
    as a look at the signing (`checkedAt`); a final state leaves the signing to be announced (followUp ANNOUNCE)
    in the same write, so no final state is ever both unannounced and out of the reconciler's sight.
    """
    if state != signing.state and state not in TRANSITIONS.get(signing.state, ()):
        raise Conflict(f"signing {signing.signingId} is {signing.state} and cannot become {state}")
    updated = Signing(**{**asdict(signing), **changes, "state": state})
    updated.sessions = [s if isinstance(s, Session) else Session(**s) for s in updated.sessions]
    updated.version = signing.version + 1
    updated.updatedAt = _changed_at()
    values = {":state": state, ":version": updated.version, ":expected": signing.version}
    assignments = ["#state = :state", "version = :version"]
    written = {**changes, "updatedAt": updated.updatedAt, "checkedAt": updated.updatedAt}
    written["expiration"] = expiration()
    if state in FINAL_STATES and not signing.is_final:
        written["followUp"] = follow_up(ANNOUNCE, signing.signingId)
    for name, value in written.items():
        if name == "sessions":
            value = [asdict(s) if isinstance(s, Session) else s for s in value]
        values[f":{name}"] = value
        assignments.append(f"{name} = :{name}")
    removals = " REMOVE storageClaim" if state in FINAL_STATES else ""
    from botocore.exceptions import ClientError

    try:
        table().update_item(
            Key=key(signing.signingId),
            UpdateExpression="SET " + ", ".join(assignments) + removals,
            ConditionExpression="version = :expected",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Conflict(f"signing {signing.signingId} changed while it was being updated") from None
        raise
    if state in FINAL_STATES and not signing.is_final:  # the one write that ends it: counted once
        ended_from = {metrics.ENTRY_POINT: metrics.entry_point(signing.source)}
        metrics.count(metrics.SIGNINGS_ENDED[state], dimensions=ended_from, signingId=signing.signingId)
    return updated
