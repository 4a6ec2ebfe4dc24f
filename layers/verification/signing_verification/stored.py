"""Every PAdES stored under signed/ verified: the verdict recorded on its signing, a failure announced.

A failure is fewer signatures than the signing has signers, or any signature that is not valid (verdict.py).
It is the event `Signing Verification Failed` on the product's bus; the function counts it as a metric.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from signing_core import aws, outcomes, repository, storage, verdicts
from signing_core.errors import NotFound
from signing_core.timestamps import now_iso
from signing_verification import verdict

logger = logging.getLogger(__name__)

FAILED_DETAIL_TYPE = "Signing Verification Failed"


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    version_id: str | None


def signing_id_of(key: str) -> str:
    """signed/<signingId>.pdf → <signingId> (storage.signed_key, read backwards)."""
    return key.removeprefix(storage.SIGNED).removesuffix(".pdf")


def check(stored: StoredObject, trust_roots_pem: bytes) -> dict[str, Any] | None:
    """The verification of one stored object version, as recorded on its signing; None if it is gone."""
    read = _read(stored)
    if read is None:
        logger.info("stored object gone before it was verified", extra={"key": stored.key})
        return None
    signing_id = signing_id_of(stored.key)
    try:
        signing = repository.get(signing_id)
    except NotFound:
        signing = None
    expected = len(signing.sessions) if signing else 1
    pdf, version_id = read
    found = verdict.verify(pdf, verdict.trust_roots(trust_roots_pem), expected)
    verification = {**found.to_dict(), "versionId": version_id, "verifiedAt": now_iso()}
    recorded = verdicts.record(signing_id, verification) if signing else False
    extra = {"signingId": signing_id, "valid": found.valid, "signatures": found.signatures}
    logger.info("stored PAdES verified", extra={**extra, "recorded": recorded})
    if not found.valid:
        detail = {
            "signingId": signing_id,
            "externalReference": signing.externalReference if signing else None,
            "title": signing.title if signing else None,
            "document": {"bucket": stored.bucket, "key": stored.key, "versionId": version_id},
            "verification": verification,
        }
        outcomes.put_event(FAILED_DETAIL_TYPE, detail, signing_id)
        logger.warning("announced %s for signing %s", FAILED_DETAIL_TYPE, signing_id, extra=extra)
    return verification


def _read(stored: StoredObject) -> tuple[bytes, str | None] | None:
    """The object version's bytes and its id; None when it is gone. Without a version in the event (moto's
    notifications carry none) the latest is read.

    Whether it is still there is asked by listing its own key's versions: reading a missing one answers 403
    to a role whose s3:ListBucket does not cover the whole bucket, as this one's does not.
    """
    s3 = aws.client("s3")
    listed = s3.list_object_versions(Bucket=stored.bucket, Prefix=stored.key)
    versions = [v for v in listed.get("Versions", []) if v["Key"] == stored.key]
    wanted = [
        v for v in versions if (v["VersionId"] == stored.version_id if stored.version_id else v["IsLatest"])
    ]
    if not wanted:
        return None
    version_id = wanted[0]["VersionId"]
    answer = s3.get_object(Bucket=stored.bucket, Key=stored.key, VersionId=version_id)
    return answer["Body"].read(), version_id
