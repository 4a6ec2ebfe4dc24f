"""DELETE /signings/{id} and POST /uploads through the API function."""

from __future__ import annotations

import json

import pytest
import requests

from local.pdf import sample_pdf
from signing_core import repository, storage
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event
from tests.integration.test_api_function import request, start_body

PDF = sample_pdf("Large contract", ["Uploaded, not inline."])
SWAPPED = sample_pdf("Another contract", ["Put through the same upload URL after the check."])


@pytest.fixture
def api(signicat):
    return load_handler("api")


def test_cancel_deletes_the_sessions_at_signicat_and_ends_the_signing(api, signicat):
    _, created = request(api, "POST", "/signings", start_body(signers=[{}, {}]))
    status, cancelled = request(api, "DELETE", f"/signings/{created['signingId']}")
    assert status == 200
    assert cancelled["state"] == "CANCELLED"
    for session in created["sessions"]:
        with pytest.raises(requests.HTTPError, match="404"):
            signicat.session(session["sessionId"])


def test_cancelling_twice_is_a_no_op(api, signicat):
    _, created = request(api, "POST", "/signings", start_body())
    request(api, "DELETE", f"/signings/{created['signingId']}")
    deletes = signicat.stats()["requests"]["DELETE /sign/signing-sessions/{session_id}"]
    status, again = request(api, "DELETE", f"/signings/{created['signingId']}")
    assert (status, again["state"]) == (200, "CANCELLED")
    assert signicat.stats()["requests"]["DELETE /sign/signing-sessions/{session_id}"] == deletes


def test_a_completed_signing_cannot_be_cancelled(api, signicat):
    _, created = request(api, "POST", "/signings", start_body())
    signing = repository.get(created["signingId"])
    repository.transition(signing, repository.COMPLETED)
    status, problem = request(api, "DELETE", f"/signings/{created['signingId']}")
    assert status == 409
    assert problem["_headers"]["Content-Type"] == "application/problem+json"
    assert "COMPLETED" in problem["detail"]
    assert "DELETE /sign/signing-sessions/{session_id}" not in signicat.stats()["requests"]


def test_cancelling_a_signing_a_signer_rejected_records_the_rejection_and_withdraws_the_others(api, signicat):
    _, created = request(api, "POST", "/signings", start_body(signers=[{}, {}]))
    rejecting, open_ = (session["sessionId"] for session in created["sessions"])
    signicat.act(rejecting, "reject")

    status, problem = request(api, "DELETE", f"/signings/{created['signingId']}")

    assert status == 409
    assert "REJECTED" in problem["detail"]
    assert repository.get(created["signingId"]).state == repository.REJECTED
    assert signicat.gone(open_) and not signicat.gone(rejecting)


def test_cancelling_an_unknown_signing_answers_404(api, signicat):
    answer = api.handler(sample_event("api_cancel_signing"), FakeContext())
    assert answer["statusCode"] == 404


def test_upload_url_takes_a_large_document_that_a_signing_then_uses(api, signicat, aws):
    answer = api.handler(sample_event("api_create_upload"), FakeContext())
    assert answer["statusCode"] == 201
    upload = json.loads(answer["body"])
    assert upload["method"] == "PUT" and upload["maxBytes"] > 0
    key = f"uploads/{upload['uploadId']}"
    # moto in-process: the presigned URL's effect is a put of that key with that content type
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=PDF, ContentType=upload["headers"]["Content-Type"])
    document = {
        "filename": "large-contract.pdf",
        "contentType": "application/pdf",
        "uploadId": upload["uploadId"],
    }
    status, created = request(api, "POST", "/signings", start_body(documents=[document]))
    assert status == 201, created
    assert signicat.stats()["requests"]["POST /sign/documents"] == 1
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix=key)
    assert listed["KeyCount"] == 0, "the upload is removed once it is at Signicat"


def test_presigned_upload_url_names_the_bucket_key_and_content_type(api, signicat, aws):
    _, upload = request(api, "POST", "/uploads", {"filename": "a.pdf"})
    assert f"/uploads/{upload['uploadId']}" in upload["uploadUrl"]
    assert "content-type" in upload["uploadUrl"].lower()


def put_upload(api, aws, body: bytes = PDF) -> str:
    """Ask for an upload and put `body` where its URL points; its uploadId."""
    _, upload = request(api, "POST", "/uploads", {"filename": "a.pdf"})
    aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{upload['uploadId']}", Body=body)
    return upload["uploadId"]


def test_an_upload_put_again_after_its_check_is_not_what_signicat_gets(api, signicat, aws, monkeypatch):
    """The presigned URL stays valid after the check: a second PUT must not slip past it to Signicat."""
    upload_id = put_upload(api, aws)
    real_peek = storage.peek

    def peek_then_swap(*args, **kwargs):
        checked = real_peek(*args, **kwargs)
        aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{upload_id}", Body=SWAPPED)
        return checked

    monkeypatch.setattr(storage, "peek", peek_then_swap)
    document = {"filename": "a.pdf", "uploadId": upload_id}
    status, created = request(api, "POST", "/signings", start_body(documents=[document]))
    assert status == 201, created
    session = signicat.session(created["sessions"][0]["sessionId"])
    assert signicat.document(session["documents"][0]["documentId"]) == PDF


def test_every_version_of_an_upload_is_removed_once_it_is_at_signicat(api, signicat, aws):
    upload_id = put_upload(api, aws, SWAPPED)
    aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{upload_id}", Body=PDF)  # put twice: two versions
    document = {"filename": "a.pdf", "uploadId": upload_id}
    status, created = request(api, "POST", "/signings", start_body(documents=[document]))
    assert status == 201, created
    left = aws.s3.list_object_versions(Bucket=aws.bucket, Prefix=f"uploads/{upload_id}")
    assert left.get("Versions", []) == [] and left.get("DeleteMarkers", []) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"", "empty"), (b"GIF89a not a pdf", "%PDF-")],
    ids=["empty", "not-a-pdf"],
)
def test_uploaded_document_is_checked_like_an_inline_one(api, signicat, aws, body, expected):
    _, upload = request(api, "POST", "/uploads", {"filename": "a.pdf"})
    aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{upload['uploadId']}", Body=body)
    document = {"filename": "a.pdf", "uploadId": upload["uploadId"]}
    status, problem = request(api, "POST", "/signings", start_body(documents=[document]))
    assert status == 400 and expected in problem["detail"]


def test_uploaded_document_over_the_limit_answers_413(api, signicat, aws, monkeypatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "100")
    _, upload = request(api, "POST", "/uploads", {"filename": "a.pdf"})
    aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{upload['uploadId']}", Body=PDF)
    status, _ = request(
        api,
        "POST",
        "/signings",
        start_body(documents=[{"filename": "a.pdf", "uploadId": upload["uploadId"]}]),
    )
    assert status == 413


@pytest.mark.parametrize(
    "upload_id", ["0197d5fb-0000-7000-8000-000000000000", "../../etc"], ids=["never-uploaded", "not-an-id"]
)
def test_unknown_upload_id_answers_400(api, signicat, upload_id):
    status, problem = request(
        api, "POST", "/signings", start_body(documents=[{"filename": "a.pdf", "uploadId": upload_id}])
    )
    assert status == 400
    assert "uploadId" in problem["detail"]


def test_document_needs_exactly_one_of_content_and_upload_id(api, signicat):
    status, problem = request(api, "POST", "/signings", start_body(documents=[{"filename": "a.pdf"}]))
    assert status == 400
    assert "either content or uploadId" in problem["detail"]
