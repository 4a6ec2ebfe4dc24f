"""Streaming the signed PAdES into S3."""

import hashlib
import subprocess
import sys
import time
import tracemalloc

import boto3
import pytest
import requests

from signing_core import aws as core_aws
from signing_core import storage
from signing_core.pdf_stream import NotASignedPdf
from tests.streams import PatternStream, free_port

SIGNED_PDF_HEAD = b"%PDF-1.7\n1 0 obj << /Type /Sig /ByteRange [0 10 20 30] >> endobj\n"


def test_stores_a_signed_pdf_with_its_hash_and_size(aws):
    body = SIGNED_PDF_HEAD + b"x" * 1000
    stored = storage.store_signed_pdf(
        PatternStream(body, len(body)), aws.bucket, "signed/a.pdf", {"signing-id": "a"}
    )
    got = aws.s3.get_object(Bucket=aws.bucket, Key="signed/a.pdf")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/pdf"
    assert got["Metadata"] == {"signing-id": "a"}
    assert (stored.sha256, stored.size) == (hashlib.sha256(body).hexdigest(), len(body))


@pytest.mark.parametrize(
    "body",
    [b"not a pdf at all, /ByteRange", b"%PDF-1.7 but never signed" + b"y" * 100, b""],
    ids=["not-pdf", "unsigned-pdf", "empty"],
)
def test_refuses_and_removes_what_is_not_a_signed_pdf(aws, body):
    with pytest.raises(NotASignedPdf):
        storage.store_signed_pdf(PatternStream(body, len(body)), aws.bucket, "signed/b.pdf", {})
    versions = aws.s3.list_object_versions(Bucket=aws.bucket, Prefix="signed/b.pdf")
    assert not versions.get("Versions")


def test_signature_marker_split_across_reads_is_found(aws):
    body = b"%PDF-1.7 " + b"z" * (storage.PART_SIZE - 13) + b"/ByteRange [0 1 2 3]"
    stored = storage.store_signed_pdf(PatternStream(body, len(body)), aws.bucket, "signed/c.pdf", {})
    assert stored.size == len(body)


@pytest.fixture
def moto_server_process():
    """moto server in its own process, so what it stores is not counted in this process's memory."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(url + "/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_60_mib_pades_streams_through_in_bounded_memory(moto_server_process, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_process)
    core_aws.reset()
    boto3.client("s3").create_bucket(
        Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    size = 60 * 1024 * 1024
    source = PatternStream(SIGNED_PDF_HEAD, size)
    tracemalloc.start()
    try:
        stored = storage.store_signed_pdf(source, "docs", "signed/big.pdf", {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        core_aws.reset()
    assert stored.size == size
    assert stored.sha256 == PatternStream(SIGNED_PDF_HEAD, size).sha256()
    # Two 8 MiB parts in flight plus buffers: far below the document's 60 MiB.
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_a_stored_pades_is_found_again_by_the_signicat_document_it_came_from(aws):
    body = SIGNED_PDF_HEAD + b"y" * 500
    metadata = {storage.SOURCE_DOCUMENT_METADATA: "doc-1"}
    first = storage.store_signed_pdf(PatternStream(body, len(body)), aws.bucket, "signed/d.pdf", metadata)
    assert storage.find_signed_pdf(aws.bucket, "signed/d.pdf", "doc-1") == first
    assert storage.find_signed_pdf(aws.bucket, "signed/d.pdf", "another-document") is None
    assert storage.find_signed_pdf(aws.bucket, "signed/missing.pdf", "doc-1") is None


def test_every_version_of_exactly_one_key_is_deleted_and_counted(aws):
    for body in (b"one", b"two"):
        aws.s3.put_object(Bucket=aws.bucket, Key="signed/e.pdf", Body=body)
    aws.s3.delete_object(Bucket=aws.bucket, Key="signed/e.pdf")  # a delete marker on top
    aws.s3.put_object(Bucket=aws.bucket, Key="signed/e.pdf.bak", Body=b"beside it")

    assert storage.delete_every_version(aws.bucket, "signed/e.pdf") == 3

    left = aws.s3.list_object_versions(Bucket=aws.bucket, Prefix="signed/e.pdf")
    assert [v["Key"] for v in left.get("Versions", [])] == ["signed/e.pdf.bak"]
    assert "DeleteMarkers" not in left
    assert storage.delete_every_version(aws.bucket, "signed/e.pdf") == 0


def test_presigned_urls_are_sigv4_which_every_bucket_takes(aws):
    # SigV2 (AWSAccessKeyId=...&Signature=...) is boto3's default for presigning, and buckets made since 2020 refuse it.
    upload = storage.upload_url(aws.bucket, "uploads/x", "application/pdf", 900)
    download = storage.download_url(aws.bucket, "signed/x.pdf", 900)

    for url in (upload, download):
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
        assert "AWSAccessKeyId=" not in url
