"""S3 for documents: every key the product writes or reads, and every S3 call.

Streaming a signed PAdES in with bounded memory (inspected as it passes by: pdf_stream.py), presigned URLs
out, the drop folder's objects and receipts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, BinaryIO

from signing_core import aws
from signing_core.pdf_stream import InspectingReader, NotASignedPdf

# The bucket's folders (docs/architecture.md). Canonical objects and the drop folder's never share one.
SIGNED = "signed/"  # signed/<signingId>.pdf: the canonical PAdES of each signing, and nothing else
UPLOADS = "uploads/"  # uploads/<uploadId>: documents PUT to a presigned URL, until their signing starts
INCOMING = "incoming/"  # incoming/<name>: the drop folder, a document put here starts a signing
RECEIPTS = "receipts/"  # receipts/<name>/<signingId>.json (or refused-<versionId>.json): how each drop went
COPIES = "copies/"  # copies/<name>/<signingId>.pdf: the signed PAdES of each drop, beside its name
SOURCE_DOCUMENT_METADATA = "signicat-document-id"  # which Signicat document an object was stored from
# Multipart parts of 8 MiB, two in flight: memory stays near 2-3 parts whatever the document's size.
PART_SIZE = 8 * 1024 * 1024
CONCURRENCY = 2
MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


@dataclass(frozen=True)
class StoredDocument:
    bucket: str
    key: str
    sha256: str
    size: int
    versionId: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "sha256": self.sha256, "size": self.size}


def signed_key(signing_id: str) -> str:
    """Where a signing's PAdES is stored."""
    return f"{SIGNED}{signing_id}.pdf"


def upload_key(upload_id: str) -> str:
    return UPLOADS + upload_id


def dropped_name(key: str) -> str:
    """A dropped document's key under incoming/, which names the folder of its receipts and signed copies."""
    return key.removeprefix(INCOMING)


def receipt_key(name: str, signing_id: str) -> str:
    """The receipt of the signing `signing_id` started from incoming/<name>: one per signing, never shared."""
    return f"{RECEIPTS}{name}/{signing_id}.json"


def refusal_key(name: str, version: str) -> str:
    """The receipt of a drop that started no signing: one per version of incoming/<name>."""
    return f"{RECEIPTS}{name}/refused-{version}.json"


def signed_copy_key(name: str, signing_id: str) -> str:
    """Where the signed PAdES of the signing `signing_id`, started from incoming/<name>, is copied."""
    return f"{COPIES}{name}/{signing_id}.pdf"


def store_signed_pdf(stream: BinaryIO, bucket: str, key: str, metadata: dict[str, str]) -> StoredDocument:
    """Stream `stream` into s3://bucket/key (multipart, bounded memory); refuse and remove it if not a signed PDF."""
    from boto3.s3.transfer import TransferConfig

    reader = InspectingReader(stream)
    s3 = aws.client("s3")
    config = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=CONCURRENCY,
    )
    # A stream cannot be re-read, so parts wait in memory: allow only as many as are being sent
    # (boto3's TransferConfig takes this s3transfer setting as an attribute, not an argument).
    config.max_in_memory_upload_chunks = CONCURRENCY
    s3.upload_fileobj(
        reader,
        bucket,
        key,
        ExtraArgs={"ContentType": "application/pdf", "Metadata": metadata},
        Config=config,
    )
    head = s3.head_object(Bucket=bucket, Key=key)
    version_id = head.get("VersionId")
    if not reader.is_signed_pdf:
        if version_id:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        else:
            s3.delete_object(Bucket=bucket, Key=key)
        raise NotASignedPdf(f"the package for {key} is not a signed PDF ({reader.size} bytes)")
    return StoredDocument(bucket, key, reader.sha256, reader.size, version_id)


def find_signed_pdf(bucket: str, key: str, document_id: str) -> StoredDocument | None:
    """The signed PDF already stored at `key` from Signicat's `document_id`, hashed again as it streams by."""
    from botocore.exceptions import ClientError

    if not exists(bucket, key):
        return None
    s3 = aws.client("s3")
    try:
        found = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in MISSING:
            return None  # removed since it was listed
        raise
    if found.get("Metadata", {}).get(SOURCE_DOCUMENT_METADATA) != document_id:
        found["Body"].close()
        return None
    reader = InspectingReader(found["Body"])
    while reader.read(PART_SIZE):
        pass
    if not reader.is_signed_pdf:
        return None
    return StoredDocument(bucket, key, reader.sha256, reader.size, found.get("VersionId"))


def exists(bucket: str, key: str) -> bool:
    """Whether `key` is in the bucket, asked by listing its own prefix. A role whose s3:ListBucket is limited
    to a prefix (condition s3:prefix) may ask this way; reading a missing key answers it 403, not 404."""
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def download_url(bucket: str, key: str, expires_in: int) -> str:
    return aws.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
    )


def upload_url(bucket: str, key: str, content_type: str, expires_in: int) -> str:
    """A presigned PUT; the uploader must send the same Content-Type."""
    return aws.client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": content_type}, ExpiresIn=expires_in
    )


@dataclass(frozen=True)
class Peeked:
    size: int
    head: bytes
    metadata: dict[str, str]
    version_id: str | None  # the version these facts are about: read that one, not whatever is current later


def peek(bucket: str, key: str, length: int, version_id: str | None = None) -> Peeked | None:
    """The size, first bytes and metadata of an object (its current version unless one is named), or None.

    The first bytes come from the very version the HEAD answered for, so a PUT in between changes nothing.
    """
    from botocore.exceptions import ClientError

    s3 = aws.client("s3")
    version = {"VersionId": version_id} if version_id else {}
    if not exists(bucket, key):
        return None
    try:
        found = s3.head_object(Bucket=bucket, Key=key, **version)
    except ClientError as error:
        if error.response["Error"]["Code"] in MISSING:
            return None  # removed since it was listed, or no such version
        raise
    version_id = found.get("VersionId") or version_id
    version = {"VersionId": version_id} if version_id else {}
    size = found["ContentLength"]
    head = b""
    if size:
        head = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}", **version)["Body"].read()
    return Peeked(size, head, found.get("Metadata") or {}, version_id)


def open_stream(bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
    version = {"VersionId": version_id} if version_id else {}
    return aws.client("s3").get_object(Bucket=bucket, Key=key, **version)["Body"]


def delete_every_version(bucket: str, key: str) -> int:
    """Remove the object with all its versions and delete markers (a plain delete in a versioned bucket
    only hides it: the data stays as a noncurrent version until the lifecycle removes it). Answers how many
    were removed: what no record refers to must not stay behind."""
    s3 = aws.client("s3")
    found = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            if entry["Key"] == key:
                found.append({"Key": key, "VersionId": entry["VersionId"]})
    for start in range(0, len(found), 1000):  # DeleteObjects takes at most 1000 keys
        answer = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": found[start : start + 1000], "Quiet": True}
        )
        if answer.get("Errors"):
            raise RuntimeError(f"could not delete every version of {key}: {answer['Errors']}")
    return len(found)


def put_bytes(bucket: str, key: str, body: bytes, content_type: str) -> str | None:
    """Store `body`; the version written (None in a bucket without versioning)."""
    return (
        aws.client("s3")
        .put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        .get("VersionId")
    )


def put_json(bucket: str, key: str, body: dict[str, Any]) -> None:
    aws.client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(body, indent=2).encode(),
        ContentType="application/json",
    )


def copy(bucket: str, key: str, source_bucket: str, source_key: str) -> None:
    aws.client("s3").copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key}
    )
