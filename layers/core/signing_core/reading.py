"""Reading a signing, as the API answers it."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from signing_core import repository, settings, signing_queries, storage
from signing_core.errors import InvalidInput
from signing_core.repository import Signing


def describe(signing: Signing, download_url_ttl_seconds: int) -> dict[str, Any]:
    """The signing as the API answers it, with a fresh download URL once it is completed."""
    answer = signing.to_dict()
    answer.pop("version", None)
    answer.pop("source", None)
    if signing.signedDocument:
        document = signing.signedDocument
        answer["signedDocument"] = {
            **document,
            "downloadUrl": storage.download_url(
                document["bucket"], document["key"], download_url_ttl_seconds
            ),
        }
    return answer


def get_signing(signing_id: str, download_url_ttl_seconds: int) -> dict[str, Any]:
    return describe(repository.get(signing_id), download_url_ttl_seconds)


SUMMARY_FIELDS = ("signingId", "title", "state", "externalReference", "createdAt", "updatedAt")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_KEY_NAMES = {"pk", "sk", "createdMonth", "createdAt"}


def list_signings(limit: int, state: str | None = None, cursor: str | None = None) -> dict[str, Any]:
    """Recent signings, newest first, `limit` at a time; `nextCursor` continues the list (None at its end).
    Only as far back as signings are kept (RetentionDays)."""
    now = datetime.now(UTC)
    oldest = repository.month_of((now - timedelta(days=settings.common().retention_days)).isoformat())
    month, start_key = _read_cursor(cursor) if cursor else (repository.month_of(now.isoformat()), None)
    items, following = signing_queries.list_recent(limit, month, oldest, start_key, state)
    return {
        "signings": [{name: item.get(name) for name in SUMMARY_FIELDS} for item in items],
        "nextCursor": _write_cursor(*following) if following else None,
    }


def _write_cursor(month: str, start_key: dict[str, str] | None) -> str:
    raw = json.dumps({"month": month, "key": start_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[str, dict[str, str] | None]:
    """The cursor a previous page answered; anything else is refused (400), never passed to DynamoDB."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        month, key = value["month"], value["key"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidInput("cursor is not one this API answered") from None
    valid_key = key is None or (
        isinstance(key, dict)
        and set(key) == _KEY_NAMES
        and all(isinstance(v, str) for v in key.values())
        and key["createdMonth"] == month
    )
    if not (isinstance(month, str) and _MONTH.fullmatch(month) and valid_key):
        raise InvalidInput("cursor is not one this API answered")
    return month, key
