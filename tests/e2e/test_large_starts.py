"""A large start on the offline stack: 202 from the gateway, the start worker (its own role, its own queue) makes
it at Signicat, GET shows the signature URLs, the signer signs, it completes; and one that Signicat refuses ends
FAILED, announced, with nothing left at Signicat."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from local.pdf import sample_pdf
from tests.e2e.conftest import Offline, e2e_stack, running
from tests.e2e.test_operations import announced, wait_for  # noqa: F401 - the module's fixture, for this stack

THRESHOLD = 4096  # DeferStartBytes for this stack: the documents below are past it


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    stack = e2e_stack(tmp_path_factory, parameters={"DeferStartBytes": str(THRESHOLD)}, prefix="e2elarge")
    with running(stack) as started:
        yield started


def upload(offline: Offline, body: bytes, filename: str, content_type: str = "application/pdf") -> str:
    asked = requests.post(
        f"{offline.api_url}/uploads", json={"filename": filename, "contentType": content_type}, timeout=30
    )
    assert asked.status_code == 201, asked.text
    asked = asked.json()
    put = requests.put(asked["uploadUrl"], data=body, headers=asked["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return asked["uploadId"]


def start(offline: Offline, documents: list[dict]) -> requests.Response:
    request = {"title": "Large agreement", "documents": documents, "signers": [{"email": "a@example.com"}]}
    return requests.post(f"{offline.api_url}/signings", json=request, timeout=30)


def test_a_large_start_is_accepted_then_awaits_signature_and_completes(offline: Offline):
    big = sample_pdf("Large agreement", [f"Clause {n}: the parties agree." for n in range(400)])
    assert len(big) > THRESHOLD
    small = sample_pdf("Annex", ["Inline, beside the upload."])
    documents = [
        {"filename": "big.pdf", "uploadId": upload(offline, big, "big.pdf")},
        {"filename": "annex.pdf", "content": base64.b64encode(small).decode()},
    ]

    answer = start(offline, documents)

    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert (accepted["state"], accepted["sessions"]) == ("STARTING", [])
    assert answer.headers["Location"] == f"/signings/{accepted['signingId']}"
    ready = wait_for(
        lambda: (s := offline.get(accepted["signingId"]))["state"] == "AWAITING_SIGNATURE" and s,
        what="the start worker's start",
    )
    (session,) = ready["sessions"]
    assert session["signatureUrl"].startswith(offline.emulator_url)
    collection = offline.at_signicat(f"/document-collections/{ready['documentCollectionId']}").json()
    sent = [offline.at_signicat(f"/documents/{d['documentId']}").content for d in collection["documents"]]
    assert sent == [big, small]

    offline.act(session["sessionId"])
    signing = offline.wait_final(accepted["signingId"])
    assert signing["state"] == "COMPLETED"
    assert signing["signedDocument"]["size"] > 0


def test_a_large_start_signicat_refuses_ends_failed_and_announced(offline: Offline, announced):  # noqa: F811
    # Signicat refuses text it cannot decode; an uploaded document is streamed, not read whole beforehand.
    undecodable = b"\xff\xfe not UTF-8 " * 1000
    upload_id = upload(offline, undecodable, "notes.txt", "text/plain")
    answer = start(offline, [{"filename": "notes.txt", "contentType": "text/plain", "uploadId": upload_id}])
    assert answer.status_code == 202, answer.text
    signing_id = answer.json()["signingId"]

    failed = wait_for(
        lambda: (s := offline.get(signing_id))["state"] == "FAILED" and s, what="the failed start"
    )

    assert failed["failure"]["code"] == "SIGNICAT_REFUSED"
    assert "uploading a document" in failed["failure"]["detail"]
    assert failed["sessions"] == []
    events = wait_for(
        lambda: [e for e in announced() if e["detail"]["signingId"] == signing_id], what="the announcement"
    )
    assert [e["detail-type"] for e in events] == ["Signing Failed"]
    cancelled = requests.delete(f"{offline.api_url}/signings/{signing_id}", timeout=30)
    assert cancelled.status_code == 409
