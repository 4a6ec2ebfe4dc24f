"""A large start: 202 and STARTING from the API, then the start worker (through a real moto queue) makes it at
Signicat, or ends it FAILED with its announcement; the Idempotency-Key still finds the one signing."""

from __future__ import annotations

import json

import pytest

from local.pdf import sample_pdf
from signing_core import repository, signing_queries
from tests.functions import load_handler
from tests.integration.conftest import FakeContext
from tests.integration.test_api_function import request
from tests.integration.test_cancel_and_uploads import put_upload

LARGE = sample_pdf("Large contract", ["Past the threshold."] * 40)


@pytest.fixture
def api(signicat, aws, monkeypatch):
    monkeypatch.setenv("START_QUEUE_URL", aws.resources.ref("StartQueue"))
    monkeypatch.setenv("DEFER_START_BYTES", str(len(LARGE) - 1))
    return load_handler("api")


@pytest.fixture
def worker(signicat):
    return load_handler("start_worker")


def large_start(api, aws, headers=None, **changes) -> tuple[int, dict]:
    body = {
        "title": "Large contract",
        "documents": [{"filename": "big.pdf", "uploadId": put_upload(api, aws, LARGE)}],
        "signers": [{"email": "a@example.com"}, {"email": "b@example.com"}],
        **changes,
    }
    return request(api, "POST", "/signings", body, headers=headers)


def run_worker(worker, aws, expect: int = 1) -> list[dict]:
    """Hand the start queue's messages to the start worker as Lambda does; its batch answers."""
    queue = aws.resources.ref("StartQueue")
    messages = aws.sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    assert len(messages) == expect
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:start",
        }
        for m in messages
    ]
    answer = worker.handler({"Records": records}, FakeContext())
    failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] in failed:  # back on the queue at once, not after the visibility timeout
            aws.sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            aws.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return [answer]


def test_a_large_start_is_accepted_then_finished_by_the_start_worker(api, worker, signicat, aws):
    status, accepted = large_start(api, aws)

    assert status == 202
    assert accepted["state"] == "STARTING"
    assert accepted["sessions"] == []
    assert "POST /sign/documents" not in signicat.stats()["requests"]
    assert request(api, "GET", f"/signings/{accepted['signingId']}")[1]["state"] == "STARTING"

    assert run_worker(worker, aws) == [{"batchItemFailures": []}]

    status, signing = request(api, "GET", f"/signings/{accepted['signingId']}")
    assert status == 200 and signing["state"] == "AWAITING_SIGNATURE"
    assert [s["signer"]["email"] for s in signing["sessions"]] == ["a@example.com", "b@example.com"]
    assert all(s["signatureUrl"].startswith(signicat.url) for s in signing["sessions"])
    collection = signicat.collection(signing["documentCollectionId"])
    assert signicat.document(collection["documents"][0]["documentId"]) == LARGE
    assert (
        signing_queries.find_by_session(signing["sessions"][0]["sessionId"]).signingId
        == accepted["signingId"]
    )
    assert not aws.s3.list_object_versions(Bucket=aws.bucket, Prefix="uploads/").get("Versions")


def test_a_start_below_the_threshold_stays_synchronous(api, signicat, aws, monkeypatch):
    monkeypatch.setenv("DEFER_START_BYTES", str(len(LARGE)))
    api = load_handler("api")

    status, started = large_start(api, aws)

    assert status == 201 and started["state"] == "AWAITING_SIGNATURE"


def test_an_upload_gone_before_the_worker_ends_the_signing_failed_and_announced(
    api, worker, signicat, aws, announced
):
    status, accepted = large_start(api, aws)
    assert status == 202
    for version in aws.s3.list_object_versions(Bucket=aws.bucket, Prefix="uploads/")["Versions"]:
        aws.s3.delete_object(Bucket=aws.bucket, Key=version["Key"], VersionId=version["VersionId"])

    assert run_worker(worker, aws) == [{"batchItemFailures": []}]

    signing = request(api, "GET", f"/signings/{accepted['signingId']}")[1]
    assert signing["state"] == "FAILED"
    assert signing["failure"]["code"] == "INVALID_INPUT"
    events = announced()
    assert [(e["detail-type"], e["detail"]["signingId"]) for e in events] == [
        ("Signing Failed", accepted["signingId"])
    ]
    assert not signicat.sessions()


def test_signicat_refusing_the_sessions_ends_the_signing_failed_with_nothing_left_there(
    api, worker, signicat, aws, announced, monkeypatch
):
    from signing_core.signicat import SignicatClient
    from signing_core.signicat_errors import SignicatError

    def refused(self, sessions):
        raise SignicatError(400, code="invalid_request", detail="refused", operation="creating the sessions")

    _, accepted = large_start(api, aws)
    monkeypatch.setattr(SignicatClient, "create_signing_sessions", refused)

    run_worker(worker, aws)

    signing = repository.get(accepted["signingId"])
    assert signing.state == "FAILED" and signing.failure["code"] == "SIGNICAT_REFUSED"
    assert [e["detail-type"] for e in announced()] == ["Signing Failed"]


def test_signicat_unavailable_is_retried_through_the_queue_until_the_last_attempt(api, worker, signicat, aws):
    _, accepted = large_start(api, aws)
    signicat.faults(error_rate=1.0)

    for _attempt in (1, 2):
        answer = run_worker(worker, aws)
        assert answer[0]["batchItemFailures"], "the message comes back for another attempt"
        assert repository.get(accepted["signingId"]).state == "STARTING"

    assert run_worker(worker, aws) == [{"batchItemFailures": []}]  # the third attempt is the last

    signing = repository.get(accepted["signingId"])
    assert signing.state == "FAILED" and signing.failure["code"] == "SIGNICAT_UNAVAILABLE"
    assert not aws.sqs.receive_message(QueueUrl=aws.resources.ref("StartQueue")).get("Messages")


def test_a_repeated_idempotency_key_answers_the_one_deferred_signing(api, worker, signicat, aws):
    body = {
        "title": "Large contract",
        "documents": [{"filename": "big.pdf", "uploadId": put_upload(api, aws, LARGE)}],
    }
    first = request(api, "POST", "/signings", body, headers={"Idempotency-Key": "big-1"})
    again = request(api, "POST", "/signings", body, headers={"Idempotency-Key": "big-1"})

    assert first[0] == again[0] == 202
    assert first[1]["signingId"] == again[1]["signingId"]
    run_worker(worker, aws, expect=1)
    assert repository.get(first[1]["signingId"]).state == "AWAITING_SIGNATURE"


def test_a_starting_signing_cannot_be_cancelled_yet(api, signicat, aws):
    _, accepted = large_start(api, aws)

    status, problem = request(api, "DELETE", f"/signings/{accepted['signingId']}")

    assert status == 409
    assert "still starting" in problem["detail"]


def test_the_start_message_names_documents_by_upload_and_version(api, aws):
    large_start(api, aws)
    message = aws.sqs.receive_message(QueueUrl=aws.resources.ref("StartQueue"))["Messages"][0]
    body = json.loads(message["Body"])
    assert [set(d) for d in body["documents"]] == [{"filename", "contentType", "key", "versionId"}]
    assert body["documents"][0]["versionId"]
