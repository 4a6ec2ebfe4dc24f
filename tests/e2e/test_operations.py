"""Drop folder, large uploads, cancel, lost-webhook recovery and completion events, on the offline stack."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import pytest
import requests

from local.pdf import sample_pdf
from tests.e2e.conftest import Offline, e2e_stack, event_reader, running, signatures

PDF = sample_pdf("Operations", ["Dropped, uploaded, cancelled, recovered."])


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """A stack whose reconciler looks at every waiting signing, every second; and a rule that catches events."""
    stack = e2e_stack(tmp_path_factory, parameters={"ReconcileAfterMinutes": "0"}, prefix="e2eops")
    with contextlib.ExitStack() as started:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("LOCAL_SCHEDULE_SECONDS", "1")  # read by the schedule source as the stack starts
            offline = started.enter_context(running(stack))
        yield offline


@pytest.fixture(scope="module")
def announced(offline: Offline):
    """EventBridge (moto server) routes the product's events to a queue this test reads."""
    return event_reader(offline, "e2e-announced")


def wait_for(check, timeout: float = 30, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.2)


def receipt(offline: Offline, name: str) -> dict | None:
    """The receipt of incoming/<name> (dropped once): the one object under receipts/<name>/."""
    s3 = offline.stack.client("s3")
    bucket = offline.info["intakeBucket"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"receipts/{name}/").get("Contents", [])
    if not listed:
        return None
    (only,) = listed
    return json.loads(s3.get_object(Bucket=bucket, Key=only["Key"])["Body"].read())


def test_document_dropped_in_incoming_is_signed_and_its_copy_lands_under_its_name(
    offline: Offline, announced
):
    s3 = offline.stack.client("s3")
    bucket = offline.info["intakeBucket"]
    s3.put_object(Bucket=bucket, Key="incoming/deals/Lease Ås.pdf", Body=PDF, Metadata={"title": "Lease"})

    started = wait_for(lambda: receipt(offline, "deals/Lease Ås.pdf"), what="the receipt")
    assert started["state"] == "AWAITING_SIGNATURE"
    offline.act(started["sessions"][0]["sessionId"])
    final = wait_for(
        lambda: (r := receipt(offline, "deals/Lease Ås.pdf")) and r["state"] == "COMPLETED" and r,
        what="the completed receipt",
    )
    copy_key = f"copies/deals/Lease Ås.pdf/{started['signingId']}.pdf"
    signed = s3.get_object(Bucket=bucket, Key=copy_key)["Body"].read()
    assert final["signedDocument"]["copy"]["key"] == copy_key
    (status,) = signatures(signed, offline.trust_root())
    assert status.intact and status.valid and status.trusted


def test_dropped_file_that_is_not_a_document_gets_a_failed_receipt(offline: Offline):
    offline.stack.client("s3").put_object(
        Bucket=offline.info["intakeBucket"], Key="incoming/photo.png", Body=b"\x89PNG\r\n"
    )
    failed = wait_for(lambda: receipt(offline, "photo.png"), what="the receipt")
    assert failed["state"] == "FAILED"
    assert ".pdf" in failed["error"]["detail"]


def test_large_document_goes_through_a_presigned_upload(offline: Offline):
    upload = requests.post(f"{offline.api_url}/uploads", json={"filename": "big.pdf"}, timeout=30)
    assert upload.status_code == 201, upload.text
    upload = upload.json()
    big = sample_pdf("Uploaded", [f"Clause {n}: the parties agree." for n in range(2000)])
    put = requests.put(upload["uploadUrl"], data=big, headers=upload["headers"], timeout=60)
    assert put.status_code == 200, put.text
    created = offline.start_signing(documents=[{"filename": "big.pdf", "uploadId": upload["uploadId"]}])
    offline.act(created["sessions"][0]["sessionId"])
    signing = offline.wait_final(created["signingId"])
    assert signing["state"] == "COMPLETED"
    assert signing["signedDocument"]["size"] > 0


def test_cancel_ends_the_signing_once_and_a_completed_one_cannot_be(offline: Offline, announced):
    created = offline.start_signing()
    first = requests.delete(f"{offline.api_url}/signings/{created['signingId']}", timeout=30)
    second = requests.delete(f"{offline.api_url}/signings/{created['signingId']}", timeout=30)
    assert (first.status_code, first.json()["state"]) == (200, "CANCELLED")
    assert (second.status_code, second.json()["state"]) == (200, "CANCELLED")

    done = offline.start_signing()
    offline.act(done["sessions"][0]["sessionId"])
    offline.wait_final(done["signingId"])
    refused = requests.delete(f"{offline.api_url}/signings/{done['signingId']}", timeout=30)
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    cancelled = [e for e in announced() if e["detail"]["signingId"] == created["signingId"]]
    assert [e["detail-type"] for e in cancelled] == ["Signing Cancelled"]


def test_signing_completes_although_every_webhook_delivery_is_dropped(offline: Offline, faults):
    before = requests.get(f"{offline.emulator_url}/_emulator/stats", timeout=30).json()["deliveries"]
    faults.faults(drop_rate=1.0)
    created = offline.start_signing()
    offline.act(created["sessions"][0]["sessionId"])
    signing = offline.wait_final(created["signingId"], timeout=60)
    assert signing["state"] == "COMPLETED"
    after = requests.get(f"{offline.emulator_url}/_emulator/stats", timeout=30).json()["deliveries"]
    assert after["dropped"] > before["dropped"]
    assert after["succeeded"] == before["succeeded"], (before, after)


def test_completion_is_announced_on_eventbridge_with_the_document(offline: Offline, announced):
    created = offline.start_signing()
    offline.act(created["sessions"][0]["sessionId"])
    signing = offline.wait_final(created["signingId"])
    mine = wait_for(
        lambda: [e for e in announced() if e["detail"]["signingId"] == created["signingId"]],
        what="the Signing Completed event",
    )
    (event,) = mine
    assert event["detail-type"] == "Signing Completed"
    assert event["detail"]["signedDocument"]["key"] == signing["signedDocument"]["key"]
