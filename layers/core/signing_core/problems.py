"""RFC 7807 problem+json: the one shape of every error the HTTP functions (API, webhook) answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

CONTENT_TYPE = "application/problem+json"


def problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem body; `extra` members (code, traceId, invalidParams) only when they have a value."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update({key: value for key, value in extra.items() if value})
    return body
