"""The storage claim: the exclusive right, for a while, to bring a signing to its end.

The package worker takes it before it stores the PAdES, so two deliveries of one event never both store it, and
a cancel takes it while it decides and deletes the sessions, so a cancel never lands while the PAdES is being
stored (and a worker never stores for a signing being cancelled). The claim is a lease on the signing item
(`storageClaim {owner, until}`): one whose holder died runs out and can be taken over. A final state removes it.
"""

from __future__ import annotations

import time

from signing_core import repository


def claim(signing_id: str, owner: str, lease_seconds: int) -> bool:
    """Take the claim for `lease_seconds`; False when the signing is final or someone else holds it."""
    from botocore.exceptions import ClientError

    now = int(time.time())
    try:
        repository.table().update_item(
            Key=repository.key(signing_id),
            UpdateExpression="SET storageClaim = :claim",
            ConditionExpression="followUp IN (:check, :unsharded) AND "
            "(attribute_not_exists(storageClaim) OR storageClaim.#until < :now OR storageClaim.#owner = :owner)",
            ExpressionAttributeNames={"#until": "until", "#owner": "owner"},
            ExpressionAttributeValues={
                ":claim": {"owner": owner, "until": now + lease_seconds},
                ":now": now,
                ":owner": owner,
                ":check": repository.follow_up(repository.CHECK, signing_id),
                ":unsharded": repository.CHECK,  # stored before byFollowUp was sharded
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release(signing_id: str, owner: str) -> None:
    """Give the claim back (its holder gave up), if `owner` still holds it."""
    from botocore.exceptions import ClientError

    try:
        repository.table().update_item(
            Key=repository.key(signing_id),
            UpdateExpression="REMOVE storageClaim",
            ConditionExpression="storageClaim.#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": owner},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
