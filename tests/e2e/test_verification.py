"""Every PAdES stored under signed/ is verified by its own function, on the offline stack: the verdict on the
signing (the API shows it), and a tampered PAdES reported as an event, a metric and `verification`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Offline, e2e_stack, event_reader, json_lines, running


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    with running(e2e_stack(tmp_path_factory, prefix="e2everify")) as started:
        yield started


@pytest.fixture(scope="module")
def announced(offline: Offline):
    return event_reader(offline, "e2e-verification")


def verified(offline: Offline, signing_id: str, version_id: str, timeout: float = 30) -> dict:
    """The signing as the API answers it, once the verdict on that stored version is recorded."""
    deadline = time.monotonic() + timeout
    while ((signing := offline.get(signing_id)).get("verification") or {}).get("versionId") != version_id:
        assert time.monotonic() < deadline, f"no verdict on version {version_id} after {timeout} s"
        time.sleep(0.2)
    return signing


def stored_item(offline: Offline, signing_id: str) -> dict:
    return offline.stack.client("dynamodb").get_item(
        TableName=offline.info["table"],
        Key={"pk": {"S": f"SIGNING#{signing_id}"}, "sk": {"S": "SIGNING"}},
        ConsistentRead=True,
    )["Item"]


def test_a_completed_signing_is_verified_valid_with_every_signers_signature(offline):
    signing = offline.start_signing(signers=[{"email": "ada@example.com"}, {"email": "bob@example.com"}])
    for session in signing["sessions"]:
        offline.act(session["sessionId"])
    done = offline.wait_final(signing["signingId"])
    (version,) = offline.stored_versions(signing["signingId"])

    verification = verified(offline, signing["signingId"], version["VersionId"])["verification"]

    assert done["state"] == "COMPLETED"
    assert (verification["signatures"], verification["expectedSignatures"]) == (2, 2)
    assert verification["valid"] and verification["intact"] and verification["coversWholeDocument"]
    assert [s["valid"] for s in verification["signers"]] == [True, True]
    assert verification["problems"] == []


def test_a_tampered_pades_under_signed_is_reported_failed_without_touching_the_state_machine(
    offline, announced
):
    signing = offline.start_signing()
    offline.act(signing["sessions"][0]["sessionId"])
    done = offline.wait_final(signing["signingId"])
    (original,) = offline.stored_versions(signing["signingId"])
    verified(offline, signing["signingId"], original["VersionId"])
    before = stored_item(offline, signing["signingId"])
    tampered = bytearray(offline.download(done))
    tampered[20] ^= 0x01

    put = offline.stack.client("s3").put_object(
        Bucket=offline.info["documentsBucket"], Key=done["signedDocument"]["key"], Body=bytes(tampered)
    )
    after = verified(offline, signing["signingId"], put["VersionId"])

    verification = after["verification"]
    assert (verification["intact"], verification["valid"]) == (False, False)
    assert "the bytes it covers were changed" in verification["problems"][0]
    # Beside the state machine: still COMPLETED, at the same version, changed at the same time.
    item = stored_item(offline, signing["signingId"])
    assert (after["state"], item["version"], item["updatedAt"]) == (
        "COMPLETED",
        before["version"],
        before["updatedAt"],
    )
    event = _waited(
        lambda: [
            e
            for e in announced()
            if e["detail-type"] == "Signing Verification Failed"
            and e["detail"]["signingId"] == signing["signingId"]
        ]
    )[0]
    assert event["source"] == "esign.signing"
    assert event["detail"]["document"]["versionId"] == put["VersionId"]
    assert event["detail"]["verification"]["valid"] is False
    metrics = _waited(
        lambda: [
            line
            for line in json_lines(offline.info["logs"]["VerifierFunction"])
            if "_aws" in line and line.get("SigningVerificationFailed") == [1.0]
        ]
    )
    (metric,) = metrics[0]["_aws"]["CloudWatchMetrics"]
    namespace = offline.stack.functions["VerifierFunction"].spec.environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert metric["Namespace"] == namespace == "ESign"  # the template's MetricsNamespace
    assert metric["Metrics"] == [{"Name": "SigningVerificationFailed", "Unit": "Count"}]


def _waited(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not seen in {timeout} s"
        time.sleep(0.2)
    return found
