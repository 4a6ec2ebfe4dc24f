"""The signings found by what else names them: a session, a collection, an external reference; and the recent
signings a page at a time (GET /signings).

The read side of the table: each lookup queries a GSI and reads the signing item itself (repository.get), so
what it answers is never an index's stale copy; the listing answers the summaries the index projects.
"""

from __future__ import annotations

from typing import Any

from signing_core import repository
from signing_core.repository import Signing


def find_by_session(session_id: str) -> Signing | None:
    return _find_one("bySession", "sessionId", session_id)


def find_by_collection(collection_id: str) -> Signing | None:
    """The signing whose document collection this is (each signing has its own: GSI byCollection)."""
    return _find_one("byCollection", "documentCollectionId", collection_id)


def _find_one(index: str, attribute: str, value: str) -> Signing | None:
    items = repository.table().query(
        IndexName=index,
        KeyConditionExpression="#attribute = :value",
        ExpressionAttributeNames={"#attribute": attribute},
        ExpressionAttributeValues={":value": value},
    )["Items"]
    if not items:
        return None
    return repository.get(repository.signing_id_of(items[0]))


def find_by_external_reference(external_reference: str) -> list[Signing]:
    items = repository.table().query(
        IndexName="byExternalReference",
        KeyConditionExpression="externalReference = :ref",
        ExpressionAttributeValues={":ref": external_reference},
    )["Items"]
    return [repository.get(repository.signing_id_of(item)) for item in items if item["sk"] == "SIGNING"]


# Recent signings, newest first (GSI byMonth: `createdMonth` YYYY-MM, sorted by `createdAt`): a query per month,
# never a scan, and no single partition takes every signing's write.
LIST_INDEX = "byMonth"
MAX_QUERIES_PER_PAGE = 40


def month_before(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def list_recent(
    limit: int,
    month: str,
    oldest_month: str,
    start_key: dict[str, str] | None = None,
    state: str | None = None,
) -> tuple[list[dict[str, Any]], tuple[str, dict[str, str] | None] | None]:
    """Up to `limit` signings (their summaries), newest first, from `month` (after `start_key` in it) back to
    `oldest_month`; and where the next page starts (a month and a key in it), or None after the last."""
    found: list[dict[str, Any]] = []
    for _ in range(MAX_QUERIES_PER_PAGE):
        if len(found) >= limit or month < oldest_month:
            break
        request: dict[str, Any] = {
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "createdMonth = :month",
            "ExpressionAttributeValues": {":month": month},
            "ScanIndexForward": False,
            "Limit": limit - len(found),
        }
        if state:
            request["FilterExpression"] = "#state = :state"
            request["ExpressionAttributeNames"] = {"#state": "state"}
            request["ExpressionAttributeValues"][":state"] = state
        if start_key:
            request["ExclusiveStartKey"] = start_key
        page = repository.table().query(**request)
        found.extend(page["Items"])
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            month = month_before(month)
    return found, ((month, start_key) if month >= oldest_month else None)
