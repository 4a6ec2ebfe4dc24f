"""The drop folder's receipts: `receipts/<name>.json` tells how the signing of `incoming/<name>` goes.

Written when the signing starts (its signature URLs, or the error), and again at its final state, with the
signed copy beside the original's name (`signed/<name>`, with a .pdf ending) once it completed.
"""

from __future__ import annotations

from typing import Any

from signing_core import storage
from signing_core.repository import Signing

FAILED = "FAILED"  # the state of a receipt whose document could not start a signing


def receipt(signing: Signing) -> dict[str, Any]:
    answer = {
        "source": signing.source,
        "signingId": signing.signingId,
        "externalReference": signing.externalReference,
        "state": signing.state,
        "sessions": [{"sessionId": s.sessionId, "signatureUrl": s.signatureUrl} for s in signing.sessions],
    }
    if signing.failure:
        answer["error"] = signing.failure
    return answer


def write(bucket: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    storage.put_json(bucket, storage.receipt_key(name), body)
    return body


def came_from_drop_folder(signing: Signing) -> bool:
    return bool(signing.source and signing.source.get("kind") == "s3")


def finish(signing: Signing) -> None:
    """At a final state: the signed copy beside the original's name, and the receipt brought up to date."""
    bucket = signing.source["bucket"]
    name = storage.dropped_name(signing.source["key"])
    body = receipt(signing)
    if signing.signedDocument:
        copy_key = storage.signed_copy_key(name)
        storage.copy(bucket, copy_key, signing.signedDocument["bucket"], signing.signedDocument["key"])
        body["signedDocument"] = {**signing.signedDocument, "copy": {"bucket": bucket, "key": copy_key}}
    write(bucket, name, body)
