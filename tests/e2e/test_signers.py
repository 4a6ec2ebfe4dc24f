"""Several signers through the whole offline stack, in both shapes the emulator gives a collection's package
event (one event naming the collection, or one per session): one stored PAdES with one valid signature per
signer, a rejection that ends the signing and withdraws the others' sessions, and who may sign."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Offline, offline_stack, signatures, signed_by

SHAPES = ("collection", "sessions")


@pytest.fixture(scope="module", params=SHAPES, ids=[f"events-per-{shape}" for shape in SHAPES])
def shaped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """One stack per event shape, shared by the module's tests (pytest runs one shape's tests, then the other's)."""
    with offline_stack(tmp_path_factory, collection_event_shape=request.param) as running:
        yield running


def named(count: int) -> list[dict]:
    """Signers named by e-mail and national identity number: Signicat checks the number (validations)."""
    return [
        {"email": f"signer{n}@example.com", "nationalIdentificationNumber": f"{n + 1:02d}017012345"}
        for n in range(count)
    ]


@pytest.mark.parametrize(
    ("count", "order"), [(2, "parallel"), (3, "parallel"), (2, "sequential"), (3, "sequential")]
)
def test_every_signer_signs_and_one_stored_pades_carries_a_valid_signature_of_each(shaped, count, order):
    signing = shaped.start_signing(signers=named(count), signingOrder=order)
    sessions = [session["sessionId"] for session in signing["sessions"]]
    if order == "sequential":
        assert [s["state"] for s in signing["sessions"]] == ["READY"] + ["BLOCKED"] * (count - 1)
        shaped.act(sessions[-1], status=409)  # the last signer's turn has not come
        turns = list(range(count))
    else:
        turns = list(reversed(range(count)))  # in parallel, any order
    for turn in turns:
        shaped.act(sessions[turn])

    done = shaped.wait_final(signing["signingId"])
    pdf = shaped.download(done)

    assert done["state"] == "COMPLETED", done["failure"]
    assert [s["state"] for s in done["sessions"]] == ["SIGNED"] * count
    assert len(shaped.stored_versions(signing["signingId"])) == 1  # however many events named it
    assert hashlib.sha256(pdf).hexdigest() == done["signedDocument"]["sha256"]
    statuses = signatures(pdf, shaped.trust_root())
    assert len(statuses) == count
    assert all(status.intact and status.valid and status.trusted for status in statuses)
    assert signed_by(pdf) == [f"signer{turn}@example.com" for turn in turns]


@pytest.mark.parametrize(("count", "order"), [(2, "parallel"), (3, "sequential")])
def test_a_rejection_by_the_second_signer_ends_rejected_and_deletes_the_sessions_still_open(
    shaped, count, order
):
    signing = shaped.start_signing(signers=named(count), signingOrder=order)
    sessions = [session["sessionId"] for session in signing["sessions"]]
    if order == "sequential":
        shaped.act(sessions[0])  # the first signs; the second's turn comes, and they reject

    shaped.act(sessions[1], "reject")
    done = shaped.wait_final(signing["signingId"])

    assert (done["state"], done["failure"]["code"]) == ("REJECTED", "REJECTED")
    assert done["signedDocument"] is None
    still_open = [0] if order == "parallel" else [2]  # parallel: nobody else signed; sequential: the third
    for index, session_id in enumerate(sessions):
        answer = shaped.at_signicat(f"/signing-sessions/{session_id}")
        if index in still_open:
            assert answer.status_code == 404, answer.text  # deleted at Signicat: nobody can sign it now
        else:
            assert answer.status_code == 200
    expected = ["SIGNED", "REJECTED", "CANCELLED"] if order == "sequential" else ["CANCELLED", "REJECTED"]
    assert [s["state"] for s in done["sessions"]] == expected
    assert not shaped.stored_versions(signing["signingId"])


def test_a_signer_named_by_identity_number_cannot_sign_as_someone_else(shaped):
    signing = shaped.start_signing(signers=named(2))
    first, second = (session["sessionId"] for session in signing["sessions"])
    shaped.act(first)
    deliveries = shaped.deliveries()

    refused = shaped.act(
        second, identity={"name": "Eve Mallory", "nationalIdentificationNumber": "31129954321"}, status=403
    )
    impostor = shaped.act(
        second, identity={"name": "Eve Mallory", "nationalIdentificationNumber": "01017012345"}, status=403
    )  # the first signer's number is not the second's either

    assert refused["code"] == impostor["code"] == "identity_mismatch"
    assert shaped.at_signicat(f"/signing-sessions/{second}").json()["lifecycle"]["state"] == "READY"
    time.sleep(1)  # were anything packaged or delivered, the worker would have acted by now
    assert shaped.deliveries() == deliveries
    current = shaped.get(signing["signingId"])
    assert current["state"] == "AWAITING_SIGNATURE"  # no event came: the reconciler would record SIGNED
    assert current["signedDocument"] is None

    shaped.act(second, identity={"name": "Signer Two", "nationalIdentificationNumber": "02-017012345"})
    done = shaped.wait_final(signing["signingId"])
    assert done["state"] == "COMPLETED"
    assert signed_by(shaped.download(done)) == ["signer0@example.com", "Signer Two"]
