"""The signing state machine, kept in DynamoDB with conditional, versioned transitions.

One table (see docs/architecture.md): the signing item, one link item per signing session (GSI bySession),
and a sparse `pending` attribute on non-final signings (GSI byPending) so the reconciler never scans.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from signing_core import aws, settings
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
    REJECTED,
    SIGNED,
)

# Every final state can be reached from every state that is not final (docs/architecture.md has the table of
# what Signicat reports and where it leads: lifecycle.py).
TRANSITIONS = {
    AWAITING_SIGNATURE: frozenset({SIGNED}) | FINAL_STATES,
    SIGNED: FINAL_STATES,
}
PENDING = "PENDING"


def _changed_at() -> str:
    return now_iso("milliseconds")


@dataclass
class Session:
    sessionId: str
    signatureUrl: str
    state: str = READY  # as Signicat reports it; CANCELLED or EXPIRED once Signicat no longer has it
    dueDate: str | None = None  # as Signicat set it: after it, Signicat answers 404 for the session


@dataclass
class Signing:
    signingId: str
    title: str
    externalReference: str
    documentCollectionId: str
    sessions: list[Session]
    state: str = AWAITING_SIGNATURE
    version: int = 1
    createdAt: str = field(default_factory=_changed_at)
    updatedAt: str = field(default_factory=_changed_at)
    signedDocument: dict[str, Any] | None = None
    failure: dict[str, str] | None = None
    source: dict[str, Any] | None = None  # where the request came from (e.g. an S3 object), for receipts
    notified: bool = False  # the final state has been announced (EventBridge, receipt)

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
            documentCollectionId=item["documentCollectionId"],
            sessions=[Session(**session) for session in item["sessions"]],
            state=item["state"],
            version=int(item["version"]),
            createdAt=item["createdAt"],
            updatedAt=item["updatedAt"],
            signedDocument=signed,
            failure=item.get("failure"),
            source=item.get("source"),
            notified=bool(item.get("notified", False)),
        )


def _table():
    return aws.resource("dynamodb").Table(settings.common().table_name)


def _key(signing_id: str) -> dict[str, str]:
    return {"pk": f"SIGNING#{signing_id}", "sk": "SIGNING"}


def _expiration() -> int:
    return int(time.time()) + settings.common().retention_days * 86400


def create(signing: Signing, also: tuple[dict[str, Any], ...] = ()) -> Signing:
    """Store a new signing and its session links in one transaction, with `also` (items in DynamoDB's form)."""
    table_name = settings.common().table_name
    item = {**_key(signing.signingId), **signing.to_dict(), "expiration": _expiration()}
    item["pending"] = PENDING
    writes = [
        {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    ]
    for session in signing.sessions:
        link = {
            "pk": f"SIGNING#{signing.signingId}",
            "sk": f"SESSION#{session.sessionId}",
            "sessionId": session.sessionId,
            "signingId": signing.signingId,
            "expiration": item["expiration"],
        }
        writes.append({"Put": {"TableName": table_name, "Item": link}})
    aws.client("dynamodb").transact_write_items(TransactItems=[*_serialize(writes), *also])
    return signing


def _serialize(writes: list[dict]) -> list[dict]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    for write in writes:
        put = write["Put"]
        put["Item"] = {key: serializer.serialize(value) for key, value in put["Item"].items()}
    return writes


def get(signing_id: str) -> Signing:
    item = _table().get_item(Key=_key(signing_id), ConsistentRead=True).get("Item")
    if not item:
        raise NotFound(f"no signing with id {signing_id}")
    return Signing.from_item(item)


def find_by_session(session_id: str) -> Signing | None:
    items = _table().query(
        IndexName="bySession",
        KeyConditionExpression="sessionId = :id",
        ExpressionAttributeValues={":id": session_id},
    )["Items"]
    if not items:
        return None
    return get(items[0]["pk"].removeprefix("SIGNING#"))


def find_by_external_reference(external_reference: str) -> list[Signing]:
    items = _table().query(
        IndexName="byExternalReference",
        KeyConditionExpression="externalReference = :ref",
        ExpressionAttributeValues={":ref": external_reference},
    )["Items"]
    return [get(item["pk"].removeprefix("SIGNING#")) for item in items if item["sk"] == "SIGNING"]


def pending_since_before(cutoff_iso: str, limit: int = 100) -> list[str]:
    """Ids of non-final signings unchanged since before `cutoff_iso`, oldest first (a query, not a scan)."""
    items = _table().query(
        IndexName="byPending",
        KeyConditionExpression="pending = :p AND updatedAt < :cutoff",
        ExpressionAttributeValues={":p": PENDING, ":cutoff": cutoff_iso},
        Limit=limit,
    )["Items"]
    return [item["pk"].removeprefix("SIGNING#") for item in items]


def transition(signing: Signing, state: str, **changes: Any) -> Signing:
    """Move `signing` to `state` if nobody changed it since it was read; raise Conflict otherwise.

    Moving to the state it is already in only applies `changes` (e.g. one more session signed).
    """
    if state != signing.state and state not in TRANSITIONS.get(signing.state, ()):
        raise Conflict(f"signing {signing.signingId} is {signing.state} and cannot become {state}")
    updated = Signing(**{**asdict(signing), **changes, "state": state})
    updated.sessions = [s if isinstance(s, Session) else Session(**s) for s in updated.sessions]
    updated.version = signing.version + 1
    updated.updatedAt = _changed_at()
    values = {":state": state, ":version": updated.version, ":expected": signing.version}
    assignments = ["#state = :state", "version = :version"]
    for name, value in {**changes, "updatedAt": updated.updatedAt, "expiration": _expiration()}.items():
        if name == "sessions":
            value = [asdict(s) if isinstance(s, Session) else s for s in value]
        values[f":{name}"] = value
        assignments.append(f"{name} = :{name}")
    removals = " REMOVE pending, storageClaim" if state in FINAL_STATES else ""
    from botocore.exceptions import ClientError

    try:
        _table().update_item(
            Key=_key(signing.signingId),
            UpdateExpression="SET " + ", ".join(assignments) + removals,
            ConditionExpression="version = :expected",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Conflict(f"signing {signing.signingId} changed while it was being updated") from None
        raise
    return updated


def claim_storage(signing_id: str, owner: str, lease_seconds: int) -> bool:
    """Take the right to store this signing's PAdES for `lease_seconds`, so two workers never both store it.

    A claim whose lease has run out (its worker died mid-stream) can be taken over.
    """
    from botocore.exceptions import ClientError

    now = int(time.time())
    try:
        _table().update_item(
            Key=_key(signing_id),
            UpdateExpression="SET storageClaim = :claim",
            ConditionExpression="attribute_exists(pending) AND "
            "(attribute_not_exists(storageClaim) OR storageClaim.#until < :now OR storageClaim.#owner = :owner)",
            ExpressionAttributeNames={"#until": "until", "#owner": "owner"},
            ExpressionAttributeValues={
                ":claim": {"owner": owner, "until": now + lease_seconds},
                ":now": now,
                ":owner": owner,
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def mark_notified(signing_id: str) -> None:
    """Remember that the final state was announced, so a retried message does not announce it again."""
    _table().update_item(
        Key=_key(signing_id), UpdateExpression="SET notified = :yes", ExpressionAttributeValues={":yes": True}
    )
