"""Signings through the whole offline stack: API → emulator → webhook → SQS → worker → S3."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
import uuid
from pathlib import Path

import requests

from local.pdf import sample_pdf
from tests.e2e.conftest import page_count, signatures


def _document(name: str, title: str) -> dict:
    return {"filename": name, "content": base64.b64encode(sample_pdf(title, [f"{title}."])).decode()}


def test_two_documents_in_one_signing_come_back_as_one_trusted_pades_holding_both(offline):
    signing = offline.start_signing(documents=[_document("a.pdf", "First"), _document("b.pdf", "Second")])
    offline.act(signing["sessions"][0]["sessionId"])

    done = offline.wait_final(signing["signingId"])
    pdf = offline.download(done)

    assert done["state"] == "COMPLETED"
    assert page_count(pdf) >= 2
    assert hashlib.sha256(pdf).hexdigest() == done["signedDocument"]["sha256"]
    (status,) = signatures(pdf, offline.trust_root())
    assert status.intact and status.valid and status.trusted


def test_with_two_signers_the_pades_is_made_only_after_both_have_signed(offline):
    signing = offline.start_signing(signers=2)
    first, second = (session["sessionId"] for session in signing["sessions"])
    deliveries = offline.deliveries()

    offline.act(first)
    time.sleep(1.5)  # ample for packaging, a delivery and the worker, were any to happen
    halfway = offline.get(signing["signingId"])
    assert halfway["state"] == "AWAITING_SIGNATURE"
    assert halfway["signedDocument"] is None
    assert offline.deliveries() == deliveries

    offline.act(second)
    done = offline.wait_final(signing["signingId"])
    assert done["state"] == "COMPLETED"
    statuses = signatures(offline.download(done), offline.trust_root())
    assert len(statuses) == 2
    assert all(status.intact and status.valid and status.trusted for status in statuses)


def test_a_rejection_ends_the_signing_rejected_with_a_failure(offline):
    signing = offline.start_signing()
    offline.act(signing["sessions"][0]["sessionId"], "reject")

    done = offline.wait_final(signing["signingId"])

    assert done["state"] == "REJECTED"
    assert done["failure"]["code"] == "REJECTED"
    assert done["signedDocument"] is None


def test_a_packaging_failure_at_signicat_ends_the_signing_failed(faults):
    faults.faults(packaging_failure_rate=1)
    signing = faults.start_signing()
    faults.act(signing["sessions"][0]["sessionId"])

    done = faults.wait_final(signing["signingId"])

    assert done["state"] == "FAILED"
    assert done["failure"]["code"] == "PACKAGING_FAILED"
    assert done["signedDocument"] is None


def _forged_failure(session_id: str) -> tuple[str, bytes]:
    """A package.failed event for a real session: enqueued, it would fail the signing."""
    event_id = str(uuid.uuid4())
    body = {
        "id": event_id,
        "timestamp": "2026-01-01T00:00:00Z",
        "sender": "signature",
        "eventName": "package.failed",
        "eventData": {"id": session_id, "externalId": "x"},
        "accountId": "a-emulator-account",
        "organizationId": None,
        "expiresAt": "2026-01-01T00:02:00Z",
        "tags": [],
    }
    return event_id, json.dumps(body).encode()


def _post_webhook(offline, body: bytes, url: str) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)


def _marker(offline, event_id: str) -> dict:
    key = {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}}
    return offline.stack.client("dynamodb").get_item(TableName=offline.info["table"], Key=key)


def test_webhook_deliveries_to_a_url_without_the_secret_are_refused_and_nothing_is_enqueued(offline):
    signing = offline.start_signing()
    event_id, body = _forged_failure(signing["sessions"][0]["sessionId"])
    guessed = offline.api_url + "/webhooks/signicat/" + "guessed-secret-of-the-right-shape-0000"

    answers = [_post_webhook(offline, body, url) for url in (guessed, offline.api_url + "/webhooks/signicat")]

    assert [answer.status_code for answer in answers] == [401, 401]
    assert all(a.headers["Content-Type"] == "application/problem+json" for a in answers)
    time.sleep(1)  # were it enqueued, the worker would have failed the signing by now
    assert "Item" not in _marker(offline, event_id)
    queue = offline.stack.client("sqs").get_queue_attributes(
        QueueUrl=offline.info["queueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert queue == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert offline.get(signing["signingId"])["state"] == "AWAITING_SIGNATURE"


def test_webhook_accepts_the_same_event_at_the_registered_url_and_the_worker_acts_on_it(offline):
    signing = offline.start_signing()
    event_id, body = _forged_failure(signing["sessions"][0]["sessionId"])

    answer = _post_webhook(offline, body, offline.info["webhookUrl"])

    assert offline.info["webhookUrl"].endswith("/webhooks/signicat/" + offline.stack.signicat.webhook_secret)
    assert answer.status_code == 202
    assert "Item" in _marker(offline, event_id)
    assert offline.wait_final(signing["signingId"])["state"] == "FAILED"


def _json_lines(path: str) -> list[dict]:
    found = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                found.append(record)
    return found


def _logged(offline, function: str, matches, timeout: float = 10) -> dict:
    """The first log line (not an EMF metric line, which carries the same ids) that `matches`."""
    deadline = time.monotonic() + timeout
    while not (
        found := [r for r in _json_lines(offline.info["logs"][function]) if "_aws" not in r and matches(r)]
    ):
        assert time.monotonic() < deadline, f"no such line in the {function} log"
        time.sleep(0.2)
    return found[0]


def test_the_cores_info_lines_reach_each_functions_json_log_with_the_signing_session_and_event_ids(offline):
    signing = offline.start_signing()
    signing_id, session_id = signing["signingId"], signing["sessions"][0]["sessionId"]
    offline.act(session_id)
    offline.wait_final(signing_id)

    # Through Powertools Logger (the API and the worker copy its configuration to signing_core's loggers).
    started = _logged(offline, "ApiFunction", lambda r: r.get("signingId") == signing_id)
    announced = _logged(offline, "PackageWorkerFunction", lambda r: r.get("signingId") == signing_id)
    # Through the runtime's own JSON format (the webhook imports no Powertools).
    # The emulator announces the collection (its default event shape): the event names its id.
    collection_id = signing["documentCollectionId"]
    accepted = _logged(offline, "WebhookFunction", lambda r: r.get("subjectId") == collection_id)

    assert (started["level"], started["service"], started["function_name"]) == (
        "INFO",
        "esign",
        "ApiFunction",
    )
    assert started["sessionIds"] == [session_id]
    assert (announced["level"], announced["location"].split(":")[0]) == ("INFO", "publish")
    assert announced["message"] == f"announced Signing Completed for signing {signing_id}"
    assert (accepted["level"], accepted["logger"]) == ("INFO", "signing_core.webhook")
    assert accepted["message"].startswith("webhook event accepted: package.completed")
    assert accepted["requestId"]
