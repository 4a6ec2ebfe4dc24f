"""What travels to and from the Sign API v2, apart from the client: request bodies, answer shapes, event names.

Stdlib only, so the use cases read Signicat's answers without importing `requests` (signicat.py does).
Answers are plain dicts and lists: fields this module does not know are passed through, never rejected.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote

from signing_core.signicat_errors import SignicatError, json_or_none
from signing_core.timestamps import iso

PADES_CONTAINER = "PADES_CONTAINER"
# A signing session's lifecycle states (signicat-facts.md).
READY = "READY"
BLOCKED = "BLOCKED"
SIGNED = "SIGNED"
REJECTED = "REJECTED"
# The events the product acts on.
PACKAGE_COMPLETED = "package.completed"
PACKAGE_FAILED = "package.failed"
DEFAULT_TOKEN_LIFETIME_SECONDS = 600  # Signicat's default when a token answer omits expires_in
# What each call does, by method and resource, in words a caller of the product may see when it fails.
OPERATIONS = {
    ("POST", "documents"): "uploading a document",
    ("GET", "documents"): "downloading a document",
    ("POST", "document-collections"): "creating the document collection",
    ("GET", "document-collections"): "reading the document collection",
    ("POST", "signing-sessions"): "creating the signing sessions",
    ("GET", "signing-sessions"): "reading a signing session",
    ("DELETE", "signing-sessions"): "deleting a signing session",
}


def session_body(
    *,
    title: str,
    external_reference: str,
    collection_id: str,
    document_ids: list[str],
    signing_flow: str,
    identity_providers: list[str],
    signer: dict[str, str],
    language: str,
    redirect_settings: dict[str, str] | None,
    due_date: datetime | None,
) -> dict[str, Any]:
    """One signer's signing session: sign every document of the collection, packaged as one PAdES."""
    setup: dict[str, Any] = {"signingFlow": signing_flow}
    if identity_providers:
        setup["identityProviders"] = [{"idpName": name} for name in identity_providers]
    if signer:
        setup["additionalParameters"] = signer
    body: dict[str, Any] = {
        "title": title,
        "externalReference": external_reference,
        "documents": [
            {"action": "SIGN", "documentCollectionId": collection_id, "documentId": document_id}
            for document_id in document_ids
        ],
        "signingSetup": [setup],
        "packageTo": [PADES_CONTAINER],
        "ui": {"language": language},
    }
    if redirect_settings:
        body["redirectSettings"] = redirect_settings
    if due_date:
        body["dueDate"] = iso(due_date)
    return body


def lifecycle_state(session: dict[str, Any]) -> str | None:
    """The session's lifecycle state (READY, BLOCKED, SIGNED, REJECTED, ...), None when it has none."""
    return (session.get("lifecycle") or {}).get("state")


def pades_document_id(packaged: dict) -> str | None:
    """The resultDocumentId of the PADES_CONTAINER package in a collection's (or a session's) `output.packages`,
    or None while not packaged."""
    packages = ((packaged or {}).get("output") or {}).get("packages") or []
    for package in packages:
        if isinstance(package, dict) and package.get("packageType") == PADES_CONTAINER:
            document_id = package.get("resultDocumentId")
            if isinstance(document_id, str) and document_id:
                return document_id
    return None


def token_lifetime(expires_in: object) -> float:
    try:
        lifetime = float(expires_in) if expires_in is not None else DEFAULT_TOKEN_LIFETIME_SECONDS
    except (TypeError, ValueError):
        lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
    return max(lifetime, 1.0)


@contextlib.contextmanager
def replayable(body: bytes | BinaryIO) -> Iterator[bytes | BinaryIO]:
    """A body that can be sent again from its start: a retried POST must resend all of it."""
    if isinstance(body, bytes | bytearray | memoryview):
        if not body:
            raise ValueError("the document is empty")
        yield bytes(body)
        return
    if not callable(getattr(body, "read", None)):
        raise TypeError(f"a document must be bytes or a binary file-like object, got {type(body).__name__}")
    seekable = getattr(body, "seekable", None)
    if callable(seekable) and seekable():
        yield body
        return
    # Not seekable (an S3 StreamingBody, a pipe): spool to /tmp rather than into memory.
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(body, spool)
        spool.seek(0)
        yield spool


def json_object(response: Any) -> dict:
    body = json_or_none(response)
    if not isinstance(body, dict):
        raise _unexpected(response, "a JSON object")
    return body


def json_array(response: Any) -> list[dict]:
    body = json_or_none(response)
    if not isinstance(body, list):
        raise _unexpected(response, "a JSON array")
    return body


def page_items(response: Any) -> list[dict]:
    """The items of a listed page, `{data: [...], count, limit, offset, total}` (a bare array is taken too)."""
    body = json_or_none(response)
    items = body.get("data") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise _unexpected(response, "a page of items")
    return items


def references_collection(session: dict[str, Any], collection_id: str) -> bool:
    """Whether the session signs or shows a document of the collection `collection_id`."""
    documents = session.get("documents") or []
    return any(isinstance(d, dict) and d.get("documentCollectionId") == collection_id for d in documents)


def _unexpected(response: Any, expected: str) -> SignicatError:
    request = response.request
    return SignicatError(
        response.status_code,
        code="UNEXPECTED_RESPONSE",
        detail=f"{request.method} {request.path_url} answered {response.status_code} without {expected}",
    )


def identifier(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def path_id(what: str, value: object) -> str:
    return quote(identifier(what, value), safe="")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
