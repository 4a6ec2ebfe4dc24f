"""Presigned uploads: a document too large to send inline is PUT to S3 first, then named by its uploadId."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from signing_core import storage
from signing_core.errors import InvalidInput
from signing_core.signing_requests import Document
from signing_core.start_checks import check_document
from signing_core.timestamps import iso
from signing_core.vocabulary import CONTENT_TYPES

UPLOAD_URL_SECONDS = 900


def create_upload(filename: str, content_type: str, bucket: str, max_bytes: int) -> dict[str, Any]:
    """A presigned PUT for one large document; POST /signings then names it by uploadId."""
    if content_type not in CONTENT_TYPES:
        raise InvalidInput(f"contentType must be one of {', '.join(CONTENT_TYPES)}")
    upload_id = str(uuid.uuid4())
    url = storage.upload_url(bucket, storage.upload_key(upload_id), content_type, UPLOAD_URL_SECONDS)
    return {
        "uploadId": upload_id,
        "uploadUrl": url,
        "method": "PUT",
        "headers": {"Content-Type": content_type},
        "maxBytes": max_bytes,
        "expiresAt": iso(datetime.now(UTC) + timedelta(seconds=UPLOAD_URL_SECONDS)),
        "filename": filename,
    }


def uploaded_document(
    filename: str, content_type: str, upload_id: str, bucket: str, max_bytes: int
) -> Document:
    """A document that was PUT to its presigned URL, streamed to Signicat when the signing starts."""
    try:
        uuid.UUID(upload_id)
    except ValueError:
        raise InvalidInput(f"uploadId {upload_id!r} is not an upload id") from None
    return stored_document(filename, content_type, storage.upload_key(upload_id), None, bucket, max_bytes)


def stored_document(
    filename: str, content_type: str, key: str, version_id: str | None, bucket: str, max_bytes: int
) -> Document:
    """A document under uploads/ (its current version, or the one named), checked as an inline one is."""
    found = storage.peek(bucket, key, 8, version_id)
    if found is None:
        raise InvalidInput(
            f"no uploaded document for uploadId {key.removeprefix('uploads/')} (never uploaded, or expired)"
        )
    # The presigned URL stays valid after this check: what is sent is the version checked, not a later PUT.
    document = Document(
        filename,
        content_type,
        lambda: storage.open_stream(bucket, key, found.version_id),
        found.head,
        found.size,
        upload=(key, found.version_id),
    )
    check_document(document, max_bytes)
    return document


def stored_inline(document: Document, bucket: str) -> Document:
    """An inline document put under uploads/, so that a message can name it (a deferred start's documents)."""
    key = storage.upload_key(str(uuid.uuid4()))
    version_id = storage.put_bytes(bucket, key, document.body(), document.content_type)
    return Document(
        document.filename,
        document.content_type,
        document.content,
        document.head,
        document.size,
        upload=(key, version_id),
    )


def forget_uploads(upload_ids: list[str], bucket: str) -> None:
    """Uploaded documents are copied to Signicat once; keeping any version would only keep personal data longer."""
    for upload_id in upload_ids:
        storage.delete_every_version(bucket, storage.upload_key(upload_id))


def forget_stored(documents: list[Document], bucket: str) -> None:
    for document in documents:
        if document.upload is not None:
            storage.delete_every_version(bucket, document.upload[0])
