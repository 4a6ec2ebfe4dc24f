"""What the reconciler still has to do, read from the sparse index byFollowUp (queries, never a scan).

Every signing carries `followUp` until nothing is left to do: CHECK while it is not final, ANNOUNCE from its
final state until its announcement went out. The index sorts by `checkedAt`, which creation, every change and
every look by the reconciler set, so the least recently looked at come first and a run that runs out of time
leaves the rest at the head of the next run: each signing is looked at within a bounded number of runs.
An unannounced final signing is always findable here, so "every final state was announced" is a query.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from signing_core import repository
from signing_core.timestamps import now_iso

INDEX = "byFollowUp"
PAGE_SIZE = 100


def due(kind: str, looked_at_before: str) -> Iterator[str]:
    """Ids of signings with follow-up `kind` last looked at before `looked_at_before`, least recently first.

    Every shard of the kind is queried, and their answers merged by `checkedAt` (each is sorted by it). Pages are
    read as they are needed; signings looked at meanwhile have moved past the bound and are not read again.
    """
    shards = [_due_in(key, looked_at_before) for key in repository.follow_up_keys(kind)]
    for _checked_at, signing_id in heapq.merge(*shards):
        yield signing_id


def _due_in(follow_up: str, looked_at_before: str) -> Iterator[tuple[str, str]]:
    query = {
        "IndexName": INDEX,
        "KeyConditionExpression": "followUp = :kind AND checkedAt < :before",
        "ExpressionAttributeValues": {":kind": follow_up, ":before": looked_at_before},
        "Limit": PAGE_SIZE,
    }
    while True:
        page = repository.table().query(**query)
        for item in page["Items"]:
            yield item["checkedAt"], repository.signing_id_of(item)
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def mark_checked(signing_id: str) -> None:
    """Move the signing to the back of the queue; a signing nothing is left to do for is not touched."""
    from botocore.exceptions import ClientError

    try:
        repository.table().update_item(
            Key=repository.key(signing_id),
            UpdateExpression="SET checkedAt = :now",
            ConditionExpression="attribute_exists(followUp)",
            ExpressionAttributeValues={":now": now_iso("milliseconds")},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def mark_announced(signing_id: str) -> None:
    """The final state was announced: nothing is left to do, and a retried message does not announce it again."""
    repository.table().update_item(
        Key=repository.key(signing_id),
        UpdateExpression="SET notified = :yes REMOVE followUp",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":yes": True},
    )
