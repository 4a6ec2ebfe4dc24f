"""Reading a signing, as the API answers it."""

from __future__ import annotations

from typing import Any

from signing_core import repository, storage
from signing_core.repository import Signing


def describe(signing: Signing, download_url_ttl_seconds: int) -> dict[str, Any]:
    """The signing as the API answers it, with a fresh download URL once it is completed."""
    answer = signing.to_dict()
    answer.pop("version", None)
    answer.pop("source", None)
    if signing.signedDocument:
        document = signing.signedDocument
        answer["signedDocument"] = {
            **document,
            "downloadUrl": storage.download_url(
                document["bucket"], document["key"], download_url_ttl_seconds
            ),
        }
    return answer


def get_signing(signing_id: str, download_url_ttl_seconds: int) -> dict[str, Any]:
    return describe(repository.get(signing_id), download_url_ttl_seconds)
