"""The signing state machine in DynamoDB."""

import pytest

from signing_core import claims, follow_ups, repository, signing_queries, verdicts
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
    assert signing_queries.find_by_session("sess-a").signingId == "s-1"
    assert signing_queries.find_by_session("sess-b").signingId == "s-1"
    assert [s.signingId for s in signing_queries.find_by_external_reference("ref-s-1")] == ["s-1"]
    assert signing_queries.find_by_session("unknown") is None


def test_a_signing_is_found_by_its_document_collection_and_only_by_its_own(aws):
    new_signing("s-1", sessions=("sess-a",))
    repository.create(
        Signing("s-2", "Other", "ref-s-2", "col-2", [Session("sess-b", "https://sign.example/sess-b")])
    )
    assert signing_queries.find_by_collection("col-1").signingId == "s-1"
    assert signing_queries.find_by_collection("col-2").signingId == "s-2"
    assert signing_queries.find_by_collection("sess-a") is None  # a session id is no collection id
    assert signing_queries.find_by_session("col-1") is None


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


def test_signings_to_check_and_to_announce_are_found_by_a_query_least_recently_looked_at_first(aws):
    for name in ("s-1", "s-2", "s-3"):
        new_signing(name, sessions=(f"sess-{name}",))
    follow_ups.mark_checked("s-1")  # looked at last
    ended = repository.transition(repository.get("s-2"), repository.EXPIRED)

    assert list(follow_ups.due(repository.CHECK, "9999")) == ["s-3", "s-1"]
    assert list(follow_ups.due(repository.CHECK, "2000")) == []
    assert list(follow_ups.due(repository.ANNOUNCE, "9999")) == [ended.signingId]
    follow_ups.mark_announced("s-2")
    assert list(follow_ups.due(repository.ANNOUNCE, "9999")) == []
    assert repository.get("s-2").notified


def test_follow_ups_are_read_page_by_page(aws, monkeypatch):
    monkeypatch.setattr(follow_ups, "PAGE_SIZE", 2)
    for number in range(5):
        new_signing(f"s-{number}", sessions=(f"sess-{number}",))
    assert sorted(follow_ups.due(repository.CHECK, "9999")) == [f"s-{number}" for number in range(5)]


def test_a_look_changes_nothing_but_the_order_and_never_creates_an_item(aws):
    signing = new_signing()
    follow_ups.mark_checked("s-1")
    follow_ups.mark_checked("no-such-signing")
    stored = repository.get("s-1")
    assert (stored.version, stored.updatedAt) == (signing.version, signing.updatedAt)
    with pytest.raises(NotFound):
        repository.get("no-such-signing")


def test_storage_claim_is_exclusive_until_its_lease_runs_out(aws):
    new_signing()
    assert claims.claim("s-1", "worker-1", lease_seconds=60)
    assert not claims.claim("s-1", "worker-2", lease_seconds=60)
    assert claims.claim("s-1", "worker-1", lease_seconds=60), "the owner may take it again"
    assert claims.claim("s-1", "worker-1", lease_seconds=-1)
    assert claims.claim("s-1", "worker-2", lease_seconds=60), "an expired lease is taken over"


def test_a_released_claim_can_be_taken_and_only_its_owner_releases_it(aws):
    new_signing()
    assert claims.claim("s-1", "cancel-1", lease_seconds=60)
    claims.release("s-1", "worker-1")
    assert not claims.claim("s-1", "worker-1", lease_seconds=60)
    claims.release("s-1", "cancel-1")
    assert claims.claim("s-1", "worker-1", lease_seconds=60)


def test_a_final_signing_cannot_be_claimed_for_storage(aws):
    repository.transition(new_signing(), repository.COMPLETED)
    assert not claims.claim("s-1", "worker-1", lease_seconds=60)


def test_follow_ups_are_spread_over_shards_and_read_from_all_of_them_in_order(aws):
    names = [f"s-{number}" for number in range(40)]
    for name in names:
        new_signing(name, sessions=(f"sess-{name}",))
    for name in reversed(names[:5]):  # looked at last, s-4 first: they come back last, in that order
        follow_ups.mark_checked(name)
    items = repository.table().scan()["Items"]
    shards = {item["followUp"] for item in items if "followUp" in item}

    assert 4 < len(shards) <= repository.FOLLOW_UP_SHARDS  # not one index key for all
    assert shards <= set(repository.follow_up_keys(repository.CHECK))
    due = list(follow_ups.due(repository.CHECK, "9999"))
    assert sorted(due[:-5]) == sorted(names[5:])
    assert due[-5:] == list(reversed(names[:5]))  # least recently looked at first, across shards


def test_a_signing_stored_before_sharding_is_still_followed_up_and_claimed(aws):
    new_signing("s-old")
    repository.table().update_item(
        Key=repository.key("s-old"),
        UpdateExpression="SET followUp = :old",
        ExpressionAttributeValues={":old": "CHECK"},
    )

    assert list(follow_ups.due(repository.CHECK, "9999")) == ["s-old"]
    assert claims.claim("s-old", "worker-1", 60)


def test_a_verdict_is_kept_beside_the_state_machine_and_survives_its_transitions(aws):
    signing = new_signing()
    verdict = {"signatures": 1, "valid": True, "signers": [{"field": "Signature1", "valid": True}]}

    assert verdicts.record("s-1", verdict) is True
    recorded = repository.get("s-1")
    # A transition made from the copy read before the verdict neither fails for it nor loses it.
    repository.transition(signing, repository.SIGNED)

    assert (recorded.version, recorded.updatedAt) == (signing.version, signing.updatedAt)
    assert recorded.verification == verdict
    assert type(recorded.verification["signatures"]) is int
    assert repository.get("s-1").verification == verdict


def test_a_verdict_for_a_signing_that_does_not_exist_creates_nothing(aws):
    assert verdicts.record("nope", {"valid": False}) is False
    with pytest.raises(NotFound):
        repository.get("nope")
