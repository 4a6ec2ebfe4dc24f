"""Documents: raw uploads (never base64) of PDF and text, their hash, reading them back, deleting them."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.contract.checks import DOCUMENTS, PDF, assert_problem, hash_matches

CONTENT_TYPES = sorted(DOCUMENTS)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_upload_answers_id_type_and_sha256_hash(client, content_type):
    """The raw bytes are answered with documentId, mimeType, createdAt and documentHash {hash, hashAlgorithm:
    SHA256}, the hash being the SHA-256 of exactly the bytes sent."""
    answer = client.upload_document(DOCUMENTS[content_type], content_type)
    assert isinstance(answer.get("documentId"), str) and answer["documentId"]
    assert answer.get("mimeType") == content_type
    datetime.fromisoformat(answer["createdAt"])
    document_hash = answer.get("documentHash") or {}
    assert document_hash.get("hashAlgorithm") == "SHA256", document_hash.get("hashAlgorithm")
    assert hash_matches(document_hash.get("hash", ""), DOCUMENTS[content_type])


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_uploaded_document_is_read_back_byte_for_byte(client, content_type):
    """GET /documents/{id} streams the very bytes uploaded."""
    document_id = client.upload_document(DOCUMENTS[content_type], content_type)["documentId"]
    with client.download_document(document_id) as body:
        assert body.read() == DOCUMENTS[content_type]


def test_upload_of_another_media_type_is_refused(target):
    """Only application/pdf and text/plain are documents: anything else is refused with a problem."""
    answer = target.api.call(
        "POST", "/documents", data=b"<html></html>", headers={"Content-Type": "text/html"}
    )
    assert_problem(answer, (400, 415))


def test_deleted_document_answers_404(client, target):
    """DELETE /documents/{id} removes it: reading it afterwards is 404 not_found."""
    document_id = client.upload_document(PDF)["documentId"]
    deleted = target.api.call("DELETE", f"/documents/{document_id}")
    assert deleted.status_code in (200, 204), deleted.status_code
    assert_problem(target.api.call("GET", f"/documents/{document_id}"), 404, "not_found")
