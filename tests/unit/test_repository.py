"""The signing state machine in DynamoDB."""

import pytest

from signing_core import repository
from signing_core.errors import Conflict, NotFound
from signing_core.repository import Session, Signing


def new_signing(signing_id="s-1", sessions=("sess-a",)) -> Signing:
    return repository.create(
        Signing(
            signingId=signing_id,
            title="Rental agreement",
            externalReference=f"ref-{signing_id}",
            documentCollectionId="col-1",
            sessions=[Session(s, f"https://sign.example/{s}") for s in sessions],
        )
    )


def test_created_signing_is_found_by_id_by_every_session_and_by_external_reference(aws):
    new_signing(sessions=("sess-a", "sess-b"))
    assert repository.get("s-1").state == repository.AWAITING_SIGNATURE
    assert repository.find_by_session("sess-a").signingId == "s-1"
    assert repository.find_by_session("sess-b").signingId == "s-1"
    assert [s.signingId for s in repository.find_by_external_reference("ref-s-1")] == ["s-1"]
    assert repository.find_by_session("unknown") is None


def test_creating_the_same_signing_twice_is_refused(aws):
    new_signing()
    with pytest.raises(Exception, match=r"ConditionalCheckFailed|TransactionCanceled"):
        new_signing()


def test_unknown_signing_is_not_found(aws):
    with pytest.raises(NotFound):
        repository.get("nope")


def test_transition_bumps_the_version_and_persists_changes(aws):
    signing = new_signing()
    signed = repository.transition(signing, repository.SIGNED)
    completed = repository.transition(
        signed, repository.COMPLETED, signedDocument={"bucket": "b", "key": "k", "sha256": "x", "size": 3}
    )
    stored = repository.get("s-1")
    assert (stored.state, stored.version) == (repository.COMPLETED, 3) == (completed.state, completed.version)
    assert stored.signedDocument == {"bucket": "b", "key": "k", "sha256": "x", "size": 3}


def test_stale_transition_is_refused_so_two_writers_cannot_both_win(aws):
    signing = new_signing()
    repository.transition(signing, repository.COMPLETED)
    with pytest.raises(Conflict):
        repository.transition(signing, repository.FAILED)
    assert repository.get("s-1").state == repository.COMPLETED


def test_final_states_cannot_be_left(aws):
    signing = repository.transition(new_signing(), repository.CANCELLED)
    with pytest.raises(Conflict, match="cannot become"):
        repository.transition(signing, repository.COMPLETED)


@pytest.mark.parametrize("state", sorted(repository.FINAL_STATES))
def test_every_final_state_is_reachable_from_every_state_that_is_not(aws, state):
    """Issue path 5: a SIGNED signing could not become REJECTED, so a second signer's rejection looped."""
    signed = repository.transition(new_signing(), repository.SIGNED)
    assert repository.transition(signed, state).state == state
    assert repository.get("s-1").state == state


def test_only_non_final_signings_are_pending_for_the_reconciler(aws):
    new_signing("s-1")
    repository.transition(new_signing("s-2", sessions=("sess-2",)), repository.COMPLETED)
    assert repository.pending_since_before("9999") == ["s-1"]
    assert repository.pending_since_before("2000") == []


def test_storage_claim_is_exclusive_until_its_lease_runs_out(aws):
    new_signing()
    assert repository.claim_storage("s-1", "worker-1", lease_seconds=60)
    assert not repository.claim_storage("s-1", "worker-2", lease_seconds=60)
    assert repository.claim_storage("s-1", "worker-1", lease_seconds=60), "the owner may take it again"
    assert repository.claim_storage("s-1", "worker-1", lease_seconds=-1)
    assert repository.claim_storage("s-1", "worker-2", lease_seconds=60), "an expired lease is taken over"


def test_a_final_signing_cannot_be_claimed_for_storage(aws):
    repository.transition(new_signing(), repository.COMPLETED)
    assert not repository.claim_storage("s-1", "worker-1", lease_seconds=60)
