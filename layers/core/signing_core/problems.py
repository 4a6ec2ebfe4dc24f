"""RFC 7807 problem+json: the one shape of every error the HTTP functions (API, webhook) answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

CONTENT_TYPE = "application/problem+json"
# RFC 9110's names, as the functions' python3.13 says them; older interpreters (the 3.11 that builds
# docs/openapi.json) still say "Request Entity Too Large" and "Unprocessable Entity".
_RENAMED_BY_RFC_9110 = {413: "Content Too Large", 422: "Unprocessable Content"}


def title(status: int) -> str:
    """The status's name, the same under every Python version."""
    return _RENAMED_BY_RFC_9110.get(status) or HTTPStatus(status).phrase


def problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem body; `extra` members (code, traceId, invalidParams) only when they have a value."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title(status),
        "status": status,
        "detail": detail,
    }
    body.update({key: value for key, value in extra.items() if value})
    return body
