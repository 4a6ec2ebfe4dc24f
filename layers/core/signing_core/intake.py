"""The drop folder: a document put under incoming/ starts a signing; receipts/ tells how it went.

`incoming/<name>` → `receipts/<name>/<signingId>.json` (the signing, its signature URLs, its state), or
`receipts/<name>/refused-<versionId>.json` (the error); see receipts.py. Options come from the object's metadata.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from signing_core import receipts, start_requests, storage
from signing_core.errors import DomainError, InvalidInput
from signing_core.settings import StartSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signing_requests import Document, Signer, SigningRequest
from signing_core.start_checks import check_document
from signing_core.starting import start_signing
from signing_core.vocabulary import PDF, PLAIN_TEXT

logger = logging.getLogger(__name__)

CONTENT_TYPES = {".pdf": PDF, ".txt": PLAIN_TEXT}  # by the name's ending
REPEAT_SECONDS = 7 * 24 * 3600  # the same S3 event (an object version) answers its first receipt this long


@dataclass(frozen=True)
class DroppedObject:
    bucket: str
    key: str  # URL-decoded
    version_id: str | None = None
    version: str | None = None  # what identifies this upload of the key: the version id, else S3's sequencer

    @property
    def name(self) -> str:
        """The key under incoming/, which names the folder of its receipts and signed copies."""
        return storage.dropped_name(self.key)

    def source(self) -> dict[str, Any]:
        return {"kind": "s3", "bucket": self.bucket, "key": self.key, "versionId": self.version_id}


def is_folder_marker(key: str) -> bool:
    """An empty object whose key ends in "/", as the S3 console creates for a folder: nothing to sign."""
    return key.endswith("/")


def start(dropped: DroppedObject, settings: StartSettings, lease_seconds: int) -> dict[str, Any]:
    """Start the signing of a dropped document and write its receipt. Bad input gets a receipt, not a retry.

    The object version is the request key: a retry (the receipt could not be written, the invocation died)
    finds the signing its first try started, and one still being started is retried later.
    """
    if not dropped.key.startswith(storage.INCOMING) or is_folder_marker(dropped.key):
        raise InvalidInput(f"{dropped.key} is not a document under {storage.INCOMING}")
    once = start_requests.StartRequest(
        key=start_requests.dropped_object_key(dropped.bucket, dropped.key, dropped.version or ""),
        fingerprint="",  # the version is the content
        lease_seconds=lease_seconds,
        keep_seconds=REPEAT_SECONDS,
    )
    try:
        signing = start_signing(lambda: _signing_request(dropped, settings.max_upload_bytes), settings, once)
    except start_requests.InProgress:
        raise  # the invocation is retried; by then the first try has finished or its lease has run out
    except DomainError as error:
        return _refuse(dropped, error.code, error.detail)
    except SignicatError as error:
        if error.retryable:
            raise  # Signicat is unavailable: the invocation is retried, then parked in the dead-letter queue
        return _refuse(dropped, error.code or "SIGNICAT_ERROR", f"Signicat refused the signing: {error}")
    key = storage.receipt_key(dropped.name, signing.signingId)
    return receipts.write(dropped.bucket, key, receipts.receipt(signing))


def _refuse(dropped: DroppedObject, code: str, detail: str) -> dict[str, Any]:
    logger.warning("dropped document %s refused: %s", dropped.key, detail, extra={"objectKey": dropped.key})
    body = {"source": dropped.source(), "state": receipts.FAILED, "error": {"code": code, "detail": detail}}
    key = storage.refusal_key(dropped.name, dropped.version or "unversioned")
    return receipts.write(dropped.bucket, key, body)


def _signing_request(dropped: DroppedObject, max_bytes: int) -> SigningRequest:
    ending = "." + dropped.key.rpartition(".")[2].lower() if "." in dropped.name else ""
    content_type = CONTENT_TYPES.get(ending)
    if content_type is None:
        raise InvalidInput(f"{dropped.name}: only {', '.join(CONTENT_TYPES)} documents can be signed")
    found = storage.peek(dropped.bucket, dropped.key, 8, dropped.version_id)
    if found is None:
        raise InvalidInput(f"{dropped.name} is no longer there")

    def open_document():
        return storage.open_stream(dropped.bucket, dropped.key, dropped.version_id)

    filename = dropped.name.rpartition("/")[2]
    document = Document(filename, content_type, open_document, found.head, found.size)
    check_document(document, max_bytes)
    options = _options(found.metadata)
    return SigningRequest(
        title=options.pop("title", None) or filename.rpartition(".")[0] or filename,
        documents=[document],
        source=dropped.source(),
        **options,
    )


# Metadata names (x-amz-meta-*, lowercase) of the plain text options, and the request field each fills.
TEXT_OPTIONS = {
    "title": "title",
    "external-reference": "externalReference",
    "language": "language",
    "signing-order": "signingOrder",
    "signing-flow": "signingFlow",
    "vendor": "vendor",
    "sender-display-name": "senderDisplayName",
    "sign-text": "signText",
}
SIGNER_FIELDS = ("email", "mobile", "nationalIdentificationNumber")


def _options(metadata: dict[str, str]) -> dict[str, Any]:
    """Signing options from x-amz-meta-* (boto3 hands them over without the prefix, lowercased)."""
    options: dict[str, Any] = {
        field: metadata[name] for name, field in TEXT_OPTIONS.items() if metadata.get(name)
    }
    if metadata.get("identity-providers"):
        options["identityProviders"] = [
            str(idp) for idp in _list(metadata["identity-providers"], "identity-providers")
        ]
    if metadata.get("signers"):
        options["signers"] = [_signer(entry) for entry in _list(metadata["signers"], "signers")]
    return options


def _list(raw: str, name: str) -> list[Any]:
    """A JSON list, or one separated by commas or semicolons (the AWS CLI's --metadata itself splits on commas)."""
    raw = raw.strip()
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidInput(f"metadata {name} is not valid JSON") from None
        if not isinstance(value, list):
            raise InvalidInput(f"metadata {name} must be a list")
        return value
    return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


def _signer(entry: Any) -> Signer:
    if isinstance(entry, str):
        if "@" not in entry:
            raise InvalidInput(f"metadata signers: {entry!r} is not an e-mail address")
        return Signer(email=entry)
    if isinstance(entry, dict) and set(entry) <= {*SIGNER_FIELDS, "verifyIdentity"}:
        verify = entry.get("verifyIdentity")
        if verify is not None and not isinstance(verify, bool):
            raise InvalidInput("metadata signers: verifyIdentity must be true or false")
        details = {key: str(value) for key, value in entry.items() if key in SIGNER_FIELDS}
        return Signer(**details, verifyIdentity=verify)
    raise InvalidInput(
        "metadata signers: each signer is an e-mail or "
        "{email, mobile, nationalIdentificationNumber, verifyIdentity}"
    )
