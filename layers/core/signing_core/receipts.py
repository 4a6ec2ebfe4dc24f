"""The drop folder's receipts: `receipts/<name>/<signingId>.json` tells how the signing of `incoming/<name>` goes.

Written when the signing starts (its signature URLs), and again at its final state, with the signed copy
`copies/<name>/<signingId>.pdf` once it completed. A drop that started no signing gets
`receipts/<name>/refused-<versionId>.json` with the error. Keys carry the signing (or the dropped version),
so dropping a name again, or two names of one stem, never overwrites another signing's receipt or copy.
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
        "signingOrder": signing.signingOrder,
        "sessions": [
            {"sessionId": s.sessionId, "signatureUrl": s.signatureUrl, "state": s.state, "signer": s.signer}
            for s in signing.sessions
        ],
    }
    if signing.failure:
        answer["error"] = signing.failure
    return answer


def write(bucket: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    storage.put_json(bucket, key, body)
    return body


def came_from_drop_folder(signing: Signing) -> bool:
    return bool(signing.source and signing.source.get("kind") == "s3")


def finish(signing: Signing) -> None:
    """At a final state: the signed copy beside the original's name, and the receipt brought up to date."""
    bucket = signing.source["bucket"]
    name = storage.dropped_name(signing.source["key"])
    body = receipt(signing)
    if signing.signedDocument:
        copy_key = storage.signed_copy_key(name, signing.signingId)
        storage.copy(bucket, copy_key, signing.signedDocument["bucket"], signing.signedDocument["key"])
        body["signedDocument"] = {**signing.signedDocument, "copy": {"bucket": bucket, "key": copy_key}}
    write(bucket, storage.receipt_key(name, signing.signingId), body)
