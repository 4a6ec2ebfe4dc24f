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
from urllib.parse import quote, urlsplit, urlunsplit

from signing_core.signicat_errors import SignicatError, json_or_none
from signing_core.timestamps import iso

PADES_CONTAINER = "PADES_CONTAINER"
# A session's signer validation: the signer's authenticated identity must match the number given.
NIN_VALIDATION = "NATIONAL_IDENTIFICATION_NUMBER"
# A signing session's lifecycle states (signicat-facts.md).
READY = "READY"
BLOCKED = "BLOCKED"
SIGNED = "SIGNED"
REJECTED = "REJECTED"
# The events the product acts on.
PACKAGE_COMPLETED = "package.completed"
PACKAGE_FAILED = "package.failed"
REDIRECT_KINDS = ("success", "cancel", "error")  # Signicat requires all three once redirectSettings is given
OUTCOME = "outcome"  # the query parameter that tells a completed redirect's kind
DEFAULT_TOKEN_LIFETIME_SECONDS = 600  # Signicat's default when a token answer omits expires_in
# What each call does, by method and resource, in words a caller of the product may see when it fails.
OPERATIONS = {
    ("POST", "documents"): "uploading a document",
    ("GET", "documents"): "downloading a document",
    ("DELETE", "documents"): "deleting a document",
    ("POST", "document-collections"): "creating the document collection",
    ("GET", "document-collections"): "reading the document collection",
    ("DELETE", "document-collections"): "deleting the document collection",
    ("POST", "signing-sessions"): "creating the signing sessions",
    ("GET", "signing-sessions"): "reading a signing session",
    ("DELETE", "signing-sessions"): "deleting a signing session",
}


def collection_body(document_ids: list[str]) -> dict[str, Any]:
    """The signing's one document collection, packaged into one PAdES once every session referencing it is
    signed: the PAdES carries every signer's signature, and appears in the collection's `output.packages`."""
    return {
        "documents": [{"documentId": document_id} for document_id in document_ids],
        "packageTo": [PADES_CONTAINER],
    }


def session_body(
    *,
    title: str,
    external_reference: str,
    collection_id: str,
    document_ids: list[str],
    signing_flow: str,
    identity_providers: list[str],
    signer: dict[str, Any],
    language: str,
    redirect_settings: dict[str, str] | None,
    due_date: datetime | None,
    vendor: str | None = None,
    sender_display_name: str | None = None,
    sign_text: str | None = None,
) -> dict[str, Any]:
    """One signer's signing session: sign every document of the collection. It carries no `packageTo`: that would
    package this session alone, with its own signature only; the collection is packaged instead."""
    setup: dict[str, Any] = {"signingFlow": signing_flow}
    if vendor:
        setup["vendor"] = vendor
    if identity_providers:
        setup["identityProviders"] = [{"idpName": name} for name in identity_providers]
    body: dict[str, Any] = {
        "title": title,
        "externalReference": external_reference,
        "documents": [
            {"action": "SIGN", "documentCollectionId": collection_id, "documentId": document_id}
            for document_id in document_ids
        ],
        "signingSetup": [setup],
        "ui": {"language": language},
    }
    optional = {
        "signer": signer,
        "redirectSettings": complete_redirects(redirect_settings),
        "dueDate": iso(due_date) if due_date else None,
        "senderDisplayName": sender_display_name,
        "signText": sign_text,
    }
    body.update({name: value for name, value in optional.items() if value})
    return body


def subsequent_to(body: dict[str, Any], session_id: str) -> dict[str, Any]:
    """The session body, to be signed only after the session `session_id` (it starts BLOCKED until then)."""
    return {**body, "subsequentTo": [session_id]}


def complete_redirects(given: dict[str, str] | None) -> dict[str, str] | None:
    """All three redirects, as Signicat requires once any is given. A missing one is the first given URL of
    success, cancel, error, with `outcome=<the missing kind>` in its query, so the page it lands on can tell."""
    given = {kind: url for kind, url in (given or {}).items() if url}
    if not given:
        return None
    fallback = next(given[kind] for kind in REDIRECT_KINDS if kind in given)
    return {kind: given.get(kind) or _with_outcome(fallback, kind) for kind in REDIRECT_KINDS}


def _with_outcome(url: str, outcome: str) -> str:
    """`url` with `outcome=<outcome>` in its query (instead of any it had); the rest of the URL kept verbatim."""
    parts = urlsplit(url)
    kept = [pair for pair in parts.query.split("&") if pair and pair.partition("=")[0] != OUTCOME]
    return urlunsplit(parts._replace(query="&".join([*kept, f"{OUTCOME}={outcome}"])))


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
