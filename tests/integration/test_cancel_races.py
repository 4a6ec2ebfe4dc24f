"""A cancel, or another ending, landing between the package worker's steps (issue path 4).

Who wins: whoever holds the signing's storage claim. A worker storing the PAdES holds it, so a cancel then answers
409 and the signing completes; a cancel holds it while it decides and deletes, so a worker then defers and finds
the signing CANCELLED. A signing whose signers all signed is not cancelled (409): it completes. Whatever ends a
signing while its PAdES is being stored, no object is left without a record: the worker removes what it stored.

Each interleaving is set up deterministically by running the other party inside one of the worker's (or the
cancel's) steps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from signing_core import cancelling, clients, repository, storage
from signing_core.errors import Conflict
from signing_core.settings import SignicatSettings
from tests.functions import load_handler
from tests.integration.test_package_worker import envelope, run_worker, signed_versions, start, start_packaged
from tests.integration.test_reconciler_and_events import reconcile_at


@pytest.fixture
def worker(signicat):
    return load_handler("package_worker")


def cancel(signing: repository.Signing) -> repository.Signing:
    return cancelling.cancel_signing(signing.signingId, SignicatSettings.from_env())


def expire_at_signicat(signicat, signing: repository.Signing) -> None:
    """The signing's due date passes: Signicat answers 404 for its sessions, and the reconciler runs."""
    (session,) = signing.sessions
    signicat.delete_session(session.sessionId)
    due = datetime.fromisoformat(repository.get(signing.signingId).sessions[0].dueDate)
    reconcile_at(due + timedelta(minutes=1))


def test_a_cancel_while_the_worker_stores_answers_409_and_the_signing_completes(
    worker, signicat, aws, monkeypatch, announced
):
    signing, session_id = start_packaged(signicat)
    store = storage.store_signed_pdf
    refused = []

    def cancel_first(*args, **kwargs):
        with pytest.raises(Conflict) as error:
            cancel(signing)
        refused.append(error.value)
        return store(*args, **kwargs)

    monkeypatch.setattr(storage, "store_signed_pdf", cancel_first)
    assert run_worker(worker, aws, envelope(session_id)) == {"failed": set()}

    assert refused and refused[0].status == 409 and "being stored" in refused[0].detail
    assert repository.get(signing.signingId).state == repository.COMPLETED
    assert len(signed_versions(aws, signing.signingId)) == 1
    assert [e["detail-type"] for e in announced()] == ["Signing Completed"]


def test_a_signing_whose_signers_all_signed_is_not_cancelled_but_completes(worker, signicat, aws):
    signing, session_id = start_packaged(signicat)

    with pytest.raises(Conflict, match="every signer signed"):
        cancel(signing)

    assert repository.get(signing.signingId).state == repository.AWAITING_SIGNATURE
    signicat.session(session_id)  # still there: nothing was deleted at Signicat
    run_worker(worker, aws, envelope(session_id))
    assert repository.get(signing.signingId).state == repository.COMPLETED


def test_a_worker_arriving_while_a_cancel_decides_defers_and_finds_the_signing_cancelled(
    worker, signicat, aws, monkeypatch
):
    signing = start()
    session_id = signing.sessions[0].sessionId
    client = clients.signicat(SignicatSettings.from_env())
    delete = client.delete_signing_session
    deferred = []

    def signed_and_packaged_meanwhile(deleted_id):
        # The cancel read the session unsigned and holds the claim; now the signer signs and the event comes.
        signicat.act(session_id, "sign")
        signicat.wait_packaged(signing.documentCollectionId)
        deferred.append(run_worker(worker, aws, envelope(session_id, event_id="meanwhile")))
        delete(deleted_id)

    monkeypatch.setattr(client, "delete_signing_session", signed_and_packaged_meanwhile)
    assert cancel(signing).state == repository.CANCELLED

    assert deferred == [{"failed": {"meanwhile"}}], "the worker could not take the claim the cancel held"
    assert run_worker(worker, aws, envelope(session_id)) == {"failed": set()}
    assert repository.get(signing.signingId).state == repository.CANCELLED
    assert signed_versions(aws, signing.signingId) == []


def test_a_worker_whose_completion_loses_removes_what_it_stored(
    worker, signicat, aws, monkeypatch, announced
):
    signing, session_id = start_packaged(signicat)
    store = storage.store_signed_pdf

    def ended_meanwhile(*args, **kwargs):
        stored = store(*args, **kwargs)
        expire_at_signicat(signicat, signing)  # the reconciler ends it while the worker is about to record
        return stored

    monkeypatch.setattr(storage, "store_signed_pdf", ended_meanwhile)
    run_worker(worker, aws, envelope(session_id))

    assert repository.get(signing.signingId).state == repository.EXPIRED
    assert signed_versions(aws, signing.signingId) == []
    assert aws.s3.list_object_versions(Bucket=aws.bucket, Prefix="signed/").get("DeleteMarkers") is None
    assert [e["detail-type"] for e in announced()] == ["Signing Expired"]


def test_a_worker_stopped_after_storing_leaves_no_object_once_the_signing_ended_otherwise(
    worker, signicat, aws, monkeypatch
):
    signing, session_id = start_packaged(signicat)
    finish = repository.transition

    def killed(*args, **kwargs):
        raise TimeoutError("the function timed out")  # after the object was stored, before it was recorded

    monkeypatch.setattr(repository, "transition", killed)
    event = envelope(session_id)
    assert run_worker(worker, aws, event)["failed"] == {event["id"]}
    assert len(signed_versions(aws, signing.signingId)) == 1
    monkeypatch.setattr(repository, "transition", finish)

    expire_at_signicat(signicat, signing)
    run_worker(worker, aws, envelope(session_id))  # the stopped worker's message comes back

    assert repository.get(signing.signingId).state == repository.EXPIRED
    assert signed_versions(aws, signing.signingId) == []


def test_a_session_state_recorded_while_a_cancel_deletes_does_not_undo_the_cancel(signicat, aws, monkeypatch):
    signing = start(signers=2)
    client = clients.signicat(SignicatSettings.from_env())
    delete = client.delete_signing_session

    def recorded_meanwhile(session_id):
        # A worker records what it read (it may, while the cancel holds the claim): the version moves on.
        current = repository.get(signing.signingId)
        repository.transition(current, repository.SIGNED, sessions=current.sessions)
        delete(session_id)

    monkeypatch.setattr(client, "delete_signing_session", recorded_meanwhile)
    assert cancel(signing).state == repository.CANCELLED
    assert [s.state for s in repository.get(signing.signingId).sessions] == ["CANCELLED", "CANCELLED"]
