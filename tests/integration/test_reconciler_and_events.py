"""Lost-webhook recovery (the scheduled reconciler) and the completion events other systems react to."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from signing_core import cancelling, clients, outcomes, reconciling, repository
from signing_core.settings import SignicatSettings
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import session_body
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event
from tests.integration.test_package_worker import PDF, envelope, run_worker, start, start_packaged

# A run with room for everything (the reconciler's timeout); it stops SAFETY_MARGIN_SECONDS before its end.
ROOMY = 300


@pytest.fixture
def reconciler(signicat, monkeypatch):
    monkeypatch.setenv("RECONCILE_AFTER_MINUTES", "0")
    return load_handler("reconciler")


def queued(aws) -> list[dict]:
    messages = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["event"] for m in messages]


def run(reconciler, context: FakeContext | None = None) -> dict[str, int]:
    return reconciler.handler(sample_event("reconciler_scheduled"), context or FakeContext(ROOMY))


def reconcile_at(now: datetime) -> dict[str, int]:
    """One run of the reconciler's use case as if the clock said `now` (Signicat's clock is not moved)."""
    return reconciling.reconcile(
        timedelta(0), SignicatSettings.from_env(), _queue_url(), time_left=lambda: ROOMY, now=now
    )


def _queue_url() -> str:
    return os.environ["QUEUE_URL"]


class Countdown(FakeContext):
    """A Lambda context whose remaining time drops by one second each time it is asked."""

    def get_remaining_time_in_millis(self) -> int:
        self.remaining_seconds -= 1
        return int(self.remaining_seconds * 1000)


def waiting_signings(count: int) -> list[repository.Signing]:
    """`count` signings waiting for their signers, made cheaply: one document, one collection, sessions in
    batches of 20 (the reconciler sees them as it sees any other)."""
    client = clients.signicat(SignicatSettings.from_env())
    document_id = client.upload_document(PDF)["documentId"]
    collection_id = client.create_document_collection([document_id])["id"]
    body = session_body(
        title="Waiting",
        external_reference="waiting",
        collection_id=collection_id,
        document_ids=[document_id],
        signing_flow="AUTHENTICATION_BASED",
        identity_providers=[],
        signer={},
        language="en",
        redirect_settings=None,
        due_date=None,
    )
    sessions = []
    while len(sessions) < count:
        sessions += client.create_signing_sessions([body] * min(20, count - len(sessions)))
    return [
        repository.create(
            repository.Signing(
                signingId=str(uuid.uuid4()),
                title="Waiting",
                externalReference=f"waiting-{i}",
                documentCollectionId=collection_id,
                sessions=[repository.Session(s["id"], s["signatureUrl"])],
            )
        )
        for i, s in enumerate(sessions)
    ]


def test_signed_and_packaged_signing_without_webhook_is_queued_like_the_webhook_would(
    reconciler, signicat, aws
):
    signing, _session_id = start_packaged(signicat)

    counts = run(reconciler)

    assert (counts["checked"], counts["queued"], counts["failed"]) == (1, 1, 0)
    (event,) = queued(aws)
    assert (event["eventName"], event["eventData"]["id"], event["sender"]) == (
        "package.completed",
        signing.documentCollectionId,  # what was packaged: the collection
        "reconciler",
    )


def test_recovered_message_completes_the_signing_through_the_worker(reconciler, signicat, aws):
    worker = load_handler("package_worker")
    signing, _session_id = start_packaged(signicat)
    run(reconciler)
    run_worker(worker, aws)
    assert repository.get(signing.signingId).state == repository.COMPLETED


def test_a_rejection_without_webhook_rejects_the_signing_and_deletes_the_open_sessions(
    reconciler, signicat, aws, announced
):
    signing = start(signers=2)
    signicat.act(signing.sessions[0].sessionId, "reject")
    assert run(reconciler)["rejected"] == 1
    assert signicat.gone(signing.sessions[1].sessionId)
    assert repository.get(signing.signingId).state == repository.REJECTED
    assert [e["detail-type"] for e in announced()] == ["Signing Rejected"]


def test_waiting_signings_are_left_alone(reconciler, signicat, aws):
    signing = start()
    counts = run(reconciler)
    assert (counts["checked"], counts["queued"], counts["failed"]) == (1, 0, 0)
    assert queued(aws) == []
    assert repository.get(signing.signingId).version == signing.version, "a look is not a change"


def test_recently_changed_signings_are_not_checked(signicat, aws, monkeypatch):
    monkeypatch.setenv("RECONCILE_AFTER_MINUTES", "30")
    reconciler = load_handler("reconciler")
    start()
    assert run(reconciler)["checked"] == 0


def test_past_due_signing_expires(signicat, aws, announced):
    signing = start()
    counts = reconcile_at(datetime.now(UTC) + timedelta(days=31))
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


def test_one_run_pages_through_every_stale_signing_while_time_allows(reconciler, signicat, aws):
    """Issue path 2: a run read the oldest 100 pending signings and no more; it reads on while it has time."""
    waiting_signings(120)
    lost, _session_id = start_packaged(signicat)  # the newest: its webhook was lost

    counts = run(reconciler)

    assert counts["checked"] == 121
    assert [e["eventData"]["id"] for e in queued(aws)] == [lost.documentCollectionId]


def test_every_stale_signing_is_looked_at_within_a_bounded_number_of_runs(reconciler, signicat, aws):
    """Issue path 2: runs short of time looked at the same oldest signings every time; the least recently
    checked come first now, so each signing is looked at once before any is looked at twice."""
    waiting = waiting_signings(120)
    lost, _session_id = start_packaged(signicat)
    per_run = 50  # seconds of room above the safety margin: one signing a second with Countdown
    total = len(waiting) + 1

    looked_at, found = [], []
    while not found and len(looked_at) < 4:
        counts = run(reconciler, Countdown(reconciling.SAFETY_MARGIN_SECONDS + per_run))
        assert 0 < counts["checked"] <= per_run
        looked_at.append(looked_at_once(aws))
        found = queued(aws)

    assert [e["eventData"]["id"] for e in found] == [lost.documentCollectionId]
    # Each run takes up those looked at least recently: none is looked at twice before every one was once.
    assert looked_at == [min(total, per_run * run) for run in range(1, len(looked_at) + 1)]
    assert len(looked_at) == -(-total // per_run)


def looked_at_once(aws) -> int:
    """How many signings the reconciler has looked at since they were created."""
    items = aws.table.scan()["Items"]
    return sum(1 for item in items if item["sk"] == "SIGNING" and item["checkedAt"] != item["createdAt"])


def test_a_session_deleted_at_signicat_before_its_due_date_cancels_the_signing(
    reconciler, signicat, aws, announced
):
    """Issue path 2: a session answering 404 was skipped forever. Before its due date a 404 means it was
    deleted at Signicat: the signing is CANCELLED."""
    signing = start()
    signicat.delete_session(signing.sessions[0].sessionId)

    counts = run(reconciler)

    stored = repository.get(signing.signingId)
    assert stored.state == repository.CANCELLED
    assert counts["cancelled"] == 1
    assert stored.failure["code"] == "DELETED_AT_SIGNICAT"
    assert [s.state for s in stored.sessions] == [repository.CANCELLED]
    assert [e["detail-type"] for e in announced()] == ["Signing Cancelled"]


def test_a_session_gone_after_its_due_date_expires_the_signing(signicat, aws, announced):
    """Issue path 2: past its dueDate Signicat answers 404 for a session; the signing is EXPIRED, told apart
    from a deletion by the due date recorded when the session was created."""
    signing = start()
    (session,) = signing.sessions
    assert session.dueDate, "the due date Signicat gave the session is recorded"
    signicat.delete_session(session.sessionId)  # what Signicat's answer is once the due date passed

    counts = reconcile_at(datetime.fromisoformat(session.dueDate) + timedelta(minutes=1))

    stored = repository.get(signing.signingId)
    assert (counts["expired"], stored.state) == (1, repository.EXPIRED)
    assert [e["detail-type"] for e in announced()] == ["Signing Expired"]


def test_one_signings_failure_does_not_stop_the_run_and_a_lost_announcement_is_made_later(
    signicat, aws, announced, monkeypatch
):
    """Issue paths 2 and 3: a Signicat 5xx or an EventBridge failure for one signing aborted the run; an
    expiry whose announcement failed was final, out of the index, and never announced."""
    unreadable = start()
    expiring = start(due_date=datetime.now(UTC) + timedelta(days=1))
    lost, _lost_session = start_packaged(signicat)
    client = clients.signicat(SignicatSettings.from_env())
    read = client.get_signing_session

    def failing_for_one(session_id):
        if session_id == unreadable.sessions[0].sessionId:
            raise SignicatError(503, code="internal_server_error", detail="try again")
        return read(session_id)

    monkeypatch.setattr(client, "get_signing_session", failing_for_one)
    publish = outcomes.publish

    def refusing_for_one(signing):
        if signing.signingId == expiring.signingId:
            raise outcomes.AnnouncementFailed("EventBridge is down")
        publish(signing)

    monkeypatch.setattr(outcomes, "publish", refusing_for_one)
    # Past the expiring one's due date, not the others' (30 days).
    later = datetime.now(UTC) + timedelta(days=2)

    first = reconcile_at(later)

    assert (first["failed"], first["queued"]) == (2, 1), first
    assert [e["eventData"]["id"] for e in queued(aws)] == [lost.documentCollectionId]
    expired = repository.get(expiring.signingId)
    assert (expired.state, expired.notified) == (repository.EXPIRED, False)
    assert announced() == []

    monkeypatch.setattr(outcomes, "publish", publish)
    second = reconcile_at(later)

    assert second["announced"] == 1
    assert [e["detail-type"] for e in announced()] == ["Signing Expired"]
    assert repository.get(expiring.signingId).notified


def test_a_cancel_whose_announcement_failed_is_announced_by_the_reconciler(
    reconciler, signicat, aws, announced, monkeypatch
):
    """Issue path 3: a cancel whose EventBridge put failed was never announced unless its caller retried."""
    signing = start()
    publish = outcomes.publish

    def refuse(_signing):
        raise outcomes.AnnouncementFailed("EventBridge is down")

    monkeypatch.setattr(outcomes, "publish", refuse)
    cancelled = cancelling.cancel_signing(signing.signingId, SignicatSettings.from_env())
    assert cancelled.state == repository.CANCELLED, "the cancel happened; its announcement is owed"
    assert not repository.get(signing.signingId).notified

    monkeypatch.setattr(outcomes, "publish", publish)
    assert run(reconciler)["announced"] == 1
    assert [e["detail-type"] for e in announced()] == ["Signing Cancelled"]
    assert run(reconciler)["announced"] == 0, "announced once it is done"
