"""Every sample event in events/ through the stack's own invoke(): each function answers it sensibly."""

from __future__ import annotations

import json

from tests.e2e.conftest import sample_event


def test_sample_get_signing_answers_404_problem_for_its_unknown_id(offline):
    answer = offline.stack.invoke("ApiFunction", sample_event("api_get_signing"))

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["code"] == "NOT_FOUND"


def test_sample_start_signing_starts_one_signing_at_the_emulator_once_per_idempotency_key(offline):
    event = sample_event("api_start_signing")

    first = offline.stack.invoke("ApiFunction", event)
    again = offline.stack.invoke("ApiFunction", event)

    assert first["statusCode"] == 201
    created = json.loads(first["body"])
    assert created["externalReference"] == "rental-2026-0042"
    assert created["sessions"][0]["signatureUrl"].startswith(offline.emulator_url)
    assert json.loads(again["body"])["signingId"] == created["signingId"]
    assert offline.get(created["signingId"])["state"] == "AWAITING_SIGNATURE"


def test_sample_webhook_deliveries_carrying_another_secret_are_refused(offline):
    for name in (
        "webhook_package_completed",
        "webhook_package_failed",
        "webhook_collection_package_completed",
        "webhook_package_completed_hmac",
    ):
        answer = offline.stack.invoke("WebhookFunction", sample_event(name))
        assert answer["statusCode"] == 401, name


def test_sample_queue_message_for_an_unknown_session_is_left_for_a_retry(offline):
    event = sample_event("package_worker_sqs")

    answer = offline.stack.invoke("PackageWorkerFunction", event)

    message_id = event["Records"][0]["messageId"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": message_id}]}
