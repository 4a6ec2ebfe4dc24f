"""Lost-webhook recovery (the scheduled reconciler) and the completion events other systems react to."""

from __future__ import annotations

import json

import pytest

from signing_core import cancelling, outcomes, reconciling, repository
from signing_core.settings import SignicatSettings
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event
from tests.integration.test_package_worker import envelope, run_worker, start, start_packaged


@pytest.fixture
def announced(aws):
    """EventBridge's default bus routes the product's events into a queue the test reads."""
    events = aws.session.client("events")
    queue_url = aws.sqs.create_queue(QueueName="announced")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="signings", EventPattern=json.dumps({"source": ["esign.signing"]}))
    events.put_targets(Rule="signings", Targets=[{"Id": "queue", "Arn": arn}])

    def read() -> list[dict]:
        messages = aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


@pytest.fixture
def reconciler(signicat, monkeypatch):
    monkeypatch.setenv("RECONCILE_AFTER_MINUTES", "0")
    return load_handler("reconciler")


def queued(aws) -> list[dict]:
    messages = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["event"] for m in messages]


def test_signed_and_packaged_signing_without_webhook_is_queued_like_the_webhook_would(
    reconciler, signicat, aws
):
    _signing, session_id = start_packaged(signicat)

    counts = reconciler.handler(sample_event("reconciler_scheduled"), FakeContext())

    assert counts == {"checked": 1, "queued": 1, "expired": 0}
    (event,) = queued(aws)
    assert (event["eventName"], event["eventData"]["id"], event["sender"]) == (
        "package.completed",
        session_id,
        "reconciler",
    )


def test_recovered_message_completes_the_signing_through_the_worker(reconciler, signicat, aws):
    worker = load_handler("package_worker")
    signing, _session_id = start_packaged(signicat)
    reconciler.handler(sample_event("reconciler_scheduled"), FakeContext())
    run_worker(worker, aws)
    assert repository.get(signing.signingId).state == repository.COMPLETED


def test_rejected_session_is_queued_as_failed(reconciler, signicat, aws):
    signing = start()
    signicat.act(signing.sessions[0].sessionId, "reject")
    reconciler.handler(sample_event("reconciler_scheduled"), FakeContext())
    (event,) = queued(aws)
    assert event["eventName"] == "package.failed"


def test_waiting_signings_are_left_alone(reconciler, signicat, aws):
    start()
    counts = reconciler.handler(sample_event("reconciler_scheduled"), FakeContext())
    assert counts == {"checked": 1, "queued": 0, "expired": 0}
    assert queued(aws) == []


def test_recently_changed_signings_are_not_checked(signicat, aws, monkeypatch):
    monkeypatch.setenv("RECONCILE_AFTER_MINUTES", "30")
    reconciler = load_handler("reconciler")
    start()
    assert reconciler.handler(sample_event("reconciler_scheduled"), FakeContext())["checked"] == 0


def test_past_due_signing_expires(reconciler, signicat, aws, monkeypatch, announced):
    signing = start()
    monkeypatch.setattr(reconciling, "_is_past", lambda moment, now: True)
    counts = reconciler.handler(sample_event("reconciler_scheduled"), FakeContext())
    assert counts["expired"] == 1
    stored = repository.get(signing.signingId)
    assert stored.state == repository.EXPIRED
    assert stored.failure["code"] == "EXPIRED"
    assert [e["detail-type"] for e in announced()] == ["Signing Expired"]


def test_completion_is_announced_once_with_where_the_document_is(signicat, aws, announced):
    worker = load_handler("package_worker")
    signing, session_id = start_packaged(signicat)
    run_worker(worker, aws, envelope(session_id))
    run_worker(worker, aws, envelope(session_id))
    (event,) = announced()
    assert event["source"] == "esign.signing"
    assert event["detail-type"] == "Signing Completed"
    detail = event["detail"]
    assert detail["signingId"] == signing.signingId
    assert detail["externalReference"] == signing.externalReference
    assert detail["state"] == "COMPLETED"
    assert detail["signedDocument"]["key"] == f"signed/{signing.signingId}.pdf"


def test_failed_and_cancelled_signings_are_announced(signicat, aws, announced):
    worker = load_handler("package_worker")
    failed = start()
    signicat.act(failed.sessions[0].sessionId, "sign")
    run_worker(worker, aws, envelope(failed.sessions[0].sessionId, "package.failed"))
    cancelled = start()
    cancelling.cancel_signing(cancelled.signingId, SignicatSettings.from_env())
    kinds = sorted((e["detail-type"], e["detail"]["signingId"]) for e in announced())
    assert kinds == sorted([("Signing Failed", failed.signingId), ("Signing Cancelled", cancelled.signingId)])


def test_an_announcement_that_failed_is_made_by_the_retried_message(signicat, aws, announced, monkeypatch):
    worker = load_handler("package_worker")
    signing, session_id = start_packaged(signicat)
    real_publish = outcomes.publish

    def refuse(_signing):
        raise outcomes.AnnouncementFailed("EventBridge is down")

    monkeypatch.setattr(outcomes, "publish", refuse)
    event = envelope(session_id)
    assert run_worker(worker, aws, event)["failed"] == {event["id"]}
    assert repository.get(signing.signingId).state == repository.COMPLETED
    monkeypatch.setattr(outcomes, "publish", real_publish)
    # The failed message comes back; here the same event is delivered again, as the queue would.
    run_worker(worker, aws, envelope(session_id))
    assert [e["detail-type"] for e in announced()] == ["Signing Completed"]
    assert repository.get(signing.signingId).notified
