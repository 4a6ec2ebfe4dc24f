"""What the contract tests share: the documents they upload, the session they ask for, the checks of answers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from typing import Any

import requests

from local.pdf import sample_pdf
from signing_core.signicat import SignicatClient
from tests.contract.targets import Target

PDF = sample_pdf("Contract suite", ["A document the Sign API v2 contract suite uploads, then deletes."])
TEXT = b"A text document the Sign API v2 contract suite uploads, then deletes.\n"
DOCUMENTS = {"application/pdf": PDF, "text/plain": TEXT}
PROBLEM_FIELDS = ("type", "title", "status", "code", "detail", "traceId")
PADES_CONTAINER = "PADES_CONTAINER"


def reference() -> str:
    """An externalReference no other run uses (it names the run's sessions in the Dashboard too)."""
    return f"contract-suite-{uuid.uuid4().hex[:12]}"


def upload(client: SignicatClient, content_type: str = "application/pdf") -> str:
    return client.upload_document(DOCUMENTS[content_type], content_type)["documentId"]


def collection(
    target: Target, client: SignicatClient, document_ids: list[str], package_to: list[str] | None = None
) -> str:
    """A document collection; with packageTo by raw HTTP, since the product's client does not send it."""
    if package_to is None:
        return client.create_document_collection(document_ids)["id"]
    body = {"documents": [{"documentId": d} for d in document_ids], "packageTo": package_to}
    return target.api.json("POST", "/document-collections", json=body)["id"]


def session_item(
    target: Target, collection_id: str, document_ids: list[str], **fields: Any
) -> dict[str, Any]:
    """One signing session that signs the documents, as the product asks for it; fields override."""
    return {
        "title": "Contract suite",
        "externalReference": reference(),
        "documents": [
            {"action": "SIGN", "documentCollectionId": collection_id, "documentId": document_id}
            for document_id in document_ids
        ],
        "signingSetup": [
            {
                "identityProviders": [{"idpName": target.identity_provider}],
                "signingFlow": "AUTHENTICATION_BASED",
            }
        ],
        "ui": {"language": "en"},
        **fields,
    }


def signable(target: Target, client: SignicatClient, **fields: Any) -> dict[str, Any]:
    """A session item for a new PDF in a new collection (no packageTo)."""
    document_id = upload(client)
    return session_item(target, collection(target, client, [document_id]), [document_id], **fields)


def assert_problem(answer: requests.Response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    """An RFC 7807 problem as the Sign API answers it: its fields, a lowercase code; returns the body."""
    statuses = (status,) if isinstance(status, int) else status
    assert answer.status_code in statuses, (
        f"expected {statuses}, got {answer.status_code}: {answer.text[:300]}"
    )
    media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
    assert media_type == "application/problem+json", f"Content-Type {media_type!r}"
    body = answer.json()
    missing = [name for name in PROBLEM_FIELDS if name not in body]
    assert not missing, f"the problem lacks {missing}: has {sorted(body)}"
    assert body["status"] == answer.status_code
    assert isinstance(body["code"], str) and body["code"] == body["code"].lower(), body["code"]
    if code is not None:
        assert body["code"] == code
    return body


def invalid_param_names(problem: dict[str, Any]) -> list[str]:
    """The names in invalidParams, each entry checked to be {name, reason}."""
    params = problem.get("invalidParams")
    assert isinstance(params, list) and params, f"no invalidParams in {sorted(problem)}"
    for entry in params:
        assert isinstance(entry.get("name"), str) and isinstance(entry.get("reason"), str), entry
    return [entry["name"] for entry in params]


def hash_matches(answered: str, content: bytes) -> bool:
    """Whether `answered` is the content's SHA-256 as hex, as base64 of the digest, or as base64 of the hex
    text (what Signicat's own example answer shows): the encoding is not documented, the digest is."""
    digest = hashlib.sha256(content)
    try:
        decoded = base64.b64decode(answered, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    return answered.lower() == digest.hexdigest() or decoded in (digest.digest(), digest.hexdigest().encode())


def pades_of(owner: dict[str, Any]) -> dict[str, Any] | None:
    """The PADES_CONTAINER package in a session's or a collection's output, None while there is none."""
    packages = (owner.get("output") or {}).get("packages") or []
    return next((p for p in packages if p.get("packageType") == PADES_CONTAINER), None)
