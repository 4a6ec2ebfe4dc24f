"""The package worker: queued events in (through a real moto queue), the emulator's session and PAdES, S3 out."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from datetime import datetime

import pytest
import requests

from local.pdf import sample_pdf
from signing_core import packaging, reading, repository, starting
from signing_core.settings import SignicatSettings, StartSettings
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event

PDF = sample_pdf("Contract", ["Signed offline."])


@pytest.fixture
def worker(signicat):
    return load_handler("package_worker")


def start(signers: int = 1, due_date: datetime | None = None) -> repository.Signing:
    document = starting.Document("c.pdf", "application/pdf", PDF, PDF[:8], len(PDF))
    request = starting.SigningRequest(
        title="Contract", documents=[document], signers=[starting.Signer()] * signers, dueDate=due_date
    )
    return starting.start_signing(request, StartSettings.from_env())


def start_packaged(signicat, signers: int = 1) -> tuple[repository.Signing, str]:
    """A signing every signer signed and whose collection the emulator packaged; and its first session's id."""
    signing = start(signers)
    for session in signing.sessions:
        signicat.act(session.sessionId, "sign")
    signicat.wait_packaged(signing.documentCollectionId)
    return signing, signing.sessions[0].sessionId


def envelope(named_id: str, name: str = "package.completed", event_id: str | None = None) -> dict:
    """Signicat's event for a session or a collection (`eventData.id`)."""
    event = json.loads(sample_event("webhook_package_completed")["body"])
    event.update(id=event_id or str(uuid.uuid4()), eventName=name)
    event["eventData"] = {"id": named_id, "externalId": "ref"}
    return event


def run_worker(worker, aws, *events: dict) -> dict:
    """Queue the events as the webhook does, receive them as Lambda's poller does, invoke the worker."""
    for event in events:
        aws.sqs.send_message(
            QueueUrl=aws.queue_url,
            MessageBody=json.dumps({"event": event, "receivedAt": "2026-01-01T00:00:00Z"}),
            MessageAttributes={"eventId": {"DataType": "String", "StringValue": event["id"]}},
        )
    received = aws.sqs.receive_message(
        QueueUrl=aws.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    queue_arn = aws.resources.get_att("PackageQueue", "Arn")
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {
                k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
                for k, v in m.get("MessageAttributes", {}).items()
            },
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": "eu-west-1",
        }
        for m in received
    ]
    answer = worker.handler({"Records": records}, FakeContext())
    by_message = {m["MessageId"]: json.loads(m["Body"])["event"]["id"] for m in received}
    failed = {by_message[f["itemIdentifier"]] for f in answer["batchItemFailures"]}
    for message in received:
        if by_message[message["MessageId"]] not in failed:
            aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {"failed": failed}


def signed_versions(aws, signing_id: str) -> list[dict]:
    listing = aws.s3.list_object_versions(Bucket=aws.bucket, Prefix=f"signed/{signing_id}")
    return listing.get("Versions", [])


def test_completed_event_stores_the_pades_and_completes_the_signing(worker, signicat, aws):
    signing, session_id = start_packaged(signicat)

    assert run_worker(worker, aws, envelope(session_id)) == {"failed": set()}

    stored = repository.get(signing.signingId)
    assert stored.state == repository.COMPLETED
    document = stored.signedDocument
    body = aws.s3.get_object(Bucket=document["bucket"], Key=document["key"])["Body"].read()
    assert body.startswith(b"%PDF-") and b"/ByteRange" in body
    assert document["sha256"] == hashlib.sha256(body).hexdigest()
    assert document["size"] == len(body)


def test_the_pades_is_valid_against_the_emulator_ca(worker, signicat, aws):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    signing, session_id = start_packaged(signicat)
    run_worker(worker, aws, envelope(session_id))
    document = repository.get(signing.signingId).signedDocument
    body = aws.s3.get_object(Bucket=document["bucket"], Key=document["key"])["Body"].read()

    from asn1crypto import pem, x509

    _, _, der = pem.unarmor(requests.get(f"{signicat.url}/_emulator/ca.pem", timeout=10).content)
    context = ValidationContext(trust_roots=[x509.Certificate.load(der)])
    (signature,) = PdfFileReader(io.BytesIO(body)).embedded_signatures
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted


def test_duplicate_events_store_one_object_and_transition_once(worker, signicat, aws):
    signing, session_id = start_packaged(signicat)
    event = envelope(session_id)

    run_worker(worker, aws, event, dict(event), envelope(session_id))
    run_worker(worker, aws, event)

    assert len(signed_versions(aws, signing.signingId)) == 1
    stored = repository.get(signing.signingId)
    assert stored.state == repository.COMPLETED
    # created (1) → COMPLETED (2): one transition, whatever arrived more than once
    assert stored.version == 2


def test_signed_but_not_packaged_comes_back_alone_and_completes_later(worker, signicat, aws):
    ready, waiting = start(), start()
    signicat.act(ready.sessions[0].sessionId, "sign")
    signicat.wait_packaged(ready.documentCollectionId)
    signicat.faults(packaging_delay=30)
    signicat.act(waiting.sessions[0].sessionId, "sign")
    late = envelope(waiting.sessions[0].sessionId)

    outcome = run_worker(worker, aws, envelope(ready.sessions[0].sessionId), late)

    assert outcome["failed"] == {late["id"]}
    assert repository.get(ready.signingId).state == repository.COMPLETED
    assert repository.get(waiting.signingId).state == repository.SIGNED
    assert not signed_versions(aws, waiting.signingId)


def test_deferred_message_is_made_visible_again_sooner_than_the_queue_timeout(worker, signicat, aws):
    signing = start()
    signicat.faults(packaging_delay=30)
    signicat.act(signing.sessions[0].sessionId, "sign")
    run_worker(worker, aws, envelope(signing.sessions[0].sessionId))
    attributes = aws.sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    # moto honours the shortened visibility: after it passes, the message is back.
    time.sleep(5.5)
    again = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=1)
    assert len(again.get("Messages", [])) == 1


def test_package_failed_event_fails_the_signing_with_the_reason(worker, signicat, aws):
    signing = start()
    session_id = signing.sessions[0].sessionId
    signicat.act(session_id, "sign")
    run_worker(worker, aws, envelope(session_id, "package.failed"))
    stored = repository.get(signing.signingId)
    assert stored.state == repository.FAILED
    assert stored.failure["code"] == "PACKAGING_FAILED"


def test_rejected_session_rejects_the_signing(worker, signicat, aws):
    signing = start()
    session_id = signing.sessions[0].sessionId
    signicat.act(session_id, "reject")
    run_worker(worker, aws, envelope(session_id, "package.failed"))
    stored = repository.get(signing.signingId)
    assert stored.state == repository.REJECTED
    assert stored.failure["code"] == "REJECTED"


def stored_pdf(aws, signing_id: str) -> bytes:
    document = repository.get(signing_id).signedDocument
    return aws.s3.get_object(Bucket=document["bucket"], Key=document["key"])["Body"].read()


def signature_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return len(PdfFileReader(io.BytesIO(pdf)).embedded_signatures)


def test_with_two_signers_the_event_of_either_session_completes_the_signing(worker, signicat, aws):
    """And what the API shows agrees with it (issue path 10: the first session still showed READY)."""
    signing, first = start_packaged(signicat, signers=2)
    second = signing.sessions[1].sessionId
    run_worker(worker, aws, envelope(second))
    stored = repository.get(signing.signingId)
    assert stored.state == repository.COMPLETED
    answer = reading.get_signing(signing.signingId, download_url_ttl_seconds=60)
    assert [s["state"] for s in answer["sessions"]] == ["SIGNED", "SIGNED"]
    run_worker(worker, aws, envelope(first))
    assert len(signed_versions(aws, signing.signingId)) == 1
    assert signature_count(stored_pdf(aws, signing.signingId)) == 2  # the collection's PAdES: both signers


@pytest.mark.parametrize("shape", ["collection", "sessions"])
def test_a_collections_event_in_either_shape_completes_the_signing_once(worker, signicat, aws, shape):
    signing, _first = start_packaged(signicat, signers=3)
    named = (
        [signing.documentCollectionId] if shape == "collection" else [s.sessionId for s in signing.sessions]
    )

    assert run_worker(worker, aws, *(envelope(named_id) for named_id in named)) == {"failed": set()}

    stored = repository.get(signing.signingId)
    assert (stored.state, stored.version) == (repository.COMPLETED, 2)
    assert len(signed_versions(aws, signing.signingId)) == 1
    assert signature_count(stored_pdf(aws, signing.signingId)) == 3
    (package,) = signicat.wait_packaged(signing.documentCollectionId)["output"]["packages"]
    assert stored_pdf(aws, signing.signingId) == signicat.document(package["resultDocumentId"])


def test_a_rejection_deletes_the_sessions_nobody_signed_and_keeps_the_signed_one(worker, signicat, aws):
    signing = start(signers=3)
    signed, rejecting, open_ = (s.sessionId for s in signing.sessions)
    signicat.act(signed, "sign")
    signicat.act(rejecting, "reject")

    assert run_worker(worker, aws, envelope(signing.documentCollectionId, "package.failed")) == {
        "failed": set()
    }

    stored = repository.get(signing.signingId)
    assert (stored.state, stored.failure["code"]) == (repository.REJECTED, "REJECTED")
    assert [s.state for s in stored.sessions] == ["SIGNED", "REJECTED", "CANCELLED"]
    assert signicat.gone(open_)
    assert not signicat.gone(signed) and not signicat.gone(rejecting)


def test_a_rejection_is_recorded_only_once_the_open_sessions_are_deleted(worker, signicat, aws, monkeypatch):
    """Deleting first: a signing is never REJECTED while a session someone could still sign is left."""
    from signing_core import clients
    from signing_core.signicat_errors import SignicatUnavailable

    signing = start(signers=2)
    rejecting, open_ = (s.sessionId for s in signing.sessions)
    signicat.act(rejecting, "reject")
    client = clients.signicat(SignicatSettings.from_env())
    delete = client.delete_signing_session

    def unavailable(session_id):
        raise SignicatUnavailable(503, code="service_unavailable", detail="down")

    monkeypatch.setattr(client, "delete_signing_session", unavailable)
    event = envelope(rejecting, "package.failed")
    assert run_worker(worker, aws, event) == {"failed": {event["id"]}}
    assert repository.get(signing.signingId).state == repository.AWAITING_SIGNATURE
    assert not signicat.gone(open_)

    monkeypatch.setattr(client, "delete_signing_session", delete)
    assert run_worker(worker, aws, envelope(rejecting, "package.failed")) == {"failed": set()}
    assert repository.get(signing.signingId).state == repository.REJECTED
    assert signicat.gone(open_)


def test_late_event_after_completion_changes_nothing(worker, signicat, aws):
    signing, session_id = start_packaged(signicat)
    run_worker(worker, aws, envelope(session_id))
    reads = ("GET /sign/signing-sessions/{session_id}", "GET /sign/document-collections/{collection_id}")
    before = [signicat.stats()["requests"][read] for read in reads]
    assert before[0] >= 1, "the worker read the session"
    run_worker(worker, aws, envelope(session_id, "package.failed"))
    assert repository.get(signing.signingId).state == repository.COMPLETED
    after = [signicat.stats()["requests"][read] for read in reads]
    assert after == before, "a final signing is not even read from Signicat again"


def test_event_for_an_id_no_signing_knows_is_retried_then_dropped(worker, signicat, aws):
    start()  # a signing with a session and a collection, neither of them named below
    event = envelope("no-such-session-or-collection")
    assert run_worker(worker, aws, event)["failed"] == {event["id"]}
    outcome = packaging.handle_package_event(
        packaging.PackageEvent(
            event["id"], event["eventName"], "no-such-session-or-collection", receive_count=3
        ),
        "w",
        60,
        SignicatSettings.from_env(),
        aws.bucket,
    )
    assert outcome == "unknown-id"


def test_sample_worker_event_is_understood(worker, signicat, aws):
    event = sample_event("package_worker_sqs")
    answer = worker.handler(event, FakeContext())
    # The sample names a session this table does not know: it is handed back for a later try, not crashed on.
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_a_worker_stopped_between_storing_and_recording_does_not_store_twice(
    worker, signicat, aws, monkeypatch
):
    signing, session_id = start_packaged(signicat)
    real_transition = repository.transition

    def killed(*args, **kwargs):
        raise TimeoutError("the function timed out")  # the invocation ends after the object was stored

    monkeypatch.setattr(repository, "transition", killed)
    event = envelope(session_id)
    assert run_worker(worker, aws, event)["failed"] == {event["id"]}
    assert len(signed_versions(aws, signing.signingId)) == 1
    downloads = signicat.stats()["requests"]["GET /sign/documents/{document_id}"]

    monkeypatch.setattr(repository, "transition", real_transition)
    # The stopped worker's lease runs out; the next delivery of the event takes the claim over.
    aws.table.update_item(
        Key={"pk": f"SIGNING#{signing.signingId}", "sk": "SIGNING"},
        UpdateExpression="SET storageClaim.#until = :past",
        ExpressionAttributeNames={"#until": "until"},
        ExpressionAttributeValues={":past": 0},
    )
    run_worker(worker, aws, envelope(session_id))

    stored = repository.get(signing.signingId)
    assert stored.state == repository.COMPLETED
    assert len(signed_versions(aws, signing.signingId)) == 1
    assert signicat.stats()["requests"]["GET /sign/documents/{document_id}"] == downloads
    body = aws.s3.get_object(Bucket=aws.bucket, Key=stored.signedDocument["key"])["Body"].read()
    assert stored.signedDocument["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_signed_signing_whose_other_signer_rejects_ends_rejected(worker, signicat, aws):
    """Issue path 5: SIGNED → REJECTED was not an allowed transition, so the rejection looped in retries."""
    signing = start(signers=2)
    first, second = (s.sessionId for s in signing.sessions)
    signicat.act(first, "sign")
    assert run_worker(worker, aws, envelope(first)) == {"failed": set()}, "the other signer's turn: no retry"
    assert repository.get(signing.signingId).state == repository.SIGNED

    signicat.act(second, "reject")
    assert run_worker(worker, aws, envelope(second, "package.failed")) == {"failed": set()}

    stored = repository.get(signing.signingId)
    assert (stored.state, stored.failure["code"]) == (repository.REJECTED, "REJECTED")
    assert [s.state for s in stored.sessions] == ["SIGNED", "REJECTED"]
