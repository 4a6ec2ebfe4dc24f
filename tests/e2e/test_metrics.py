"""The functions' logs on the offline stack tell one signing's story in EMF metrics, as CloudWatch would read them."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Offline, e2e_stack, running

NAMESPACE = "ESign"  # the template's MetricsNamespace default
FUNCTIONS = ("ApiFunction", "WebhookFunction", "PackageWorkerFunction")


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """A stack of its own: its logs hold this module's signings only."""
    with running(e2e_stack(tmp_path_factory, prefix="e2emetrics")) as started:
        yield started


def metric_lines(offline: Offline, function: str) -> list[dict]:
    """Every EMF line in the function's log (a JSON object with an `_aws` block), as CloudWatch Logs reads them."""
    found = []
    for line in (
        Path(offline.info["logs"][function]).read_text(encoding="utf-8", errors="replace").splitlines()
    ):
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and "_aws" in record:
                found.append(record)
    return found


def metric(line: dict) -> tuple[str, str, dict[str, str], list[float]]:
    """Name, unit, dimensions and values of a one-metric EMF line, checked against the format's rules."""
    block = line["_aws"]
    assert isinstance(block["Timestamp"], int)
    (directive,) = block["CloudWatchMetrics"]
    (definition,) = directive["Metrics"]
    (dimension_names,) = directive["Dimensions"]
    assert directive["Namespace"] == NAMESPACE
    name = definition["Name"]
    return name, definition["Unit"], {key: line[key] for key in dimension_names}, line[name]


def wait_for(
    offline: Offline, function: str, matches: Callable[[dict], bool], timeout: float = 20
) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (found := [line for line in metric_lines(offline, function) if matches(line)]):
        assert time.monotonic() < deadline, f"no such metric in the {function} log"
        time.sleep(0.2)
    return found


def named(name: str, **keys: str) -> Callable[[dict], bool]:
    return lambda line: name in line and all(line.get(key) == value for key, value in keys.items())


def package_completed(session_id: str) -> tuple[str, bytes]:
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "id": event_id,
        "timestamp": now,
        "sender": "signature",
        "eventName": "package.completed",
        "eventData": {"id": session_id, "externalId": "x"},
        "accountId": "a-emulator-account",
        "organizationId": None,
        "expiresAt": now,
        "tags": [],
    }
    return event_id, json.dumps(body).encode()


def post_webhook(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)


def test_one_signings_story_from_start_to_stored_is_in_the_functions_emf_metrics(offline):
    offline.faults(packaging_delay=3.0)  # the signer signs; Signicat packages 3 s later
    try:
        signing = offline.start_signing()
        signing_id, session_id = signing["signingId"], signing["sessions"][0]["sessionId"]
        offline.act(session_id)
        # An event before the package exists (early, or forged, at the registered URL): the worker defers it.
        early_id, early = package_completed(session_id)
        assert post_webhook(offline.info["webhookUrl"], early).status_code == 202
        deferred = wait_for(
            offline, "PackageWorkerFunction", named("PackageEventsDeferred", eventId=early_id)
        )
        assert post_webhook(offline.info["webhookUrl"], early).status_code == 200  # a replay
        guessed = offline.api_url + "/webhooks/signicat/guessed-secret-of-the-right-shape-0000"
        assert post_webhook(guessed, early).status_code == 401
        assert offline.wait_final(signing_id)["state"] == "COMPLETED"
    finally:
        offline.faults(packaging_delay=0.0)

    started = wait_for(offline, "ApiFunction", named("SigningsStarted", signingId=signing_id))
    completed = wait_for(offline, "PackageWorkerFunction", named("SigningsCompleted", signingId=signing_id))
    # The first signing of this stack: every line of these metrics is its own.
    stored = wait_for(offline, "PackageWorkerFunction", named("SignToStoredLatency"))
    webhook = metric_lines(offline, "WebhookFunction")
    accepted = [line for line in webhook if "WebhookAccepted" in line]
    duplicate = [line for line in webhook if named("WebhookDuplicate", eventId=early_id)(line)]
    refused = [line for line in webhook if "WebhookRefused" in line]

    assert [metric(line) for line in started] == [
        ("SigningsStarted", "Count", {"EntryPoint": "Api", "service": "esign"}, [1.0])
    ]
    assert [metric(line) for line in completed] == [
        ("SigningsCompleted", "Count", {"EntryPoint": "Api", "service": "esign"}, [1.0])
    ]
    assert [metric(line)[:3] for line in deferred][:1] == [
        ("PackageEventsDeferred", "Count", {"service": "esign"})
    ]
    # Signicat's own event and the early one were accepted; the replay was a duplicate; the forgery refused.
    assert {line["eventId"] for line in accepted} >= {early_id} and len(accepted) == 2
    assert [metric(line) for line in duplicate] == [
        ("WebhookDuplicate", "Count", {"service": "esign"}, [1.0])
    ]
    assert [(metric(line), line["status"]) for line in refused] == [
        (("WebhookRefused", "Count", {"service": "esign"}, [1.0]), 401)
    ]
    # Once, by the message that stored the PAdES: milliseconds from its event to the signing COMPLETED.
    ((name, unit, dimensions, (elapsed,)),) = [metric(line) for line in stored]
    assert (name, unit, dimensions) == ("SignToStoredLatency", "Milliseconds", {"service": "esign"})
    assert 0 < elapsed < 60_000
    # Each function's first invocation in its container, with the function's name.
    for function in FUNCTIONS:
        cold = [metric(line) for line in metric_lines(offline, function) if "ColdStart" in line]
        assert cold and all(
            found == ("ColdStart", "Count", {"function_name": function, "service": "esign"}, [1.0])
            for found in cold
        ), function


def test_the_other_ends_and_signicats_errors_are_counted(offline):
    rejected = offline.start_signing()
    offline.act(rejected["sessions"][0]["sessionId"], "reject")
    assert offline.wait_final(rejected["signingId"])["state"] == "REJECTED"
    cancelled = offline.start_signing()
    answer = requests.delete(f"{offline.api_url}/signings/{cancelled['signingId']}", timeout=30)
    assert answer.status_code == 200, answer.text
    offline.faults(error_rate=1.0)  # every Sign API call answers 503, retries included
    try:
        refused = requests.post(
            f"{offline.api_url}/signings",
            json={
                "title": "x",
                "documents": [{"filename": "a.pdf", "content": "JVBERi0xLjQK"}],
                "signers": [{"email": "a@example.com"}],
            },
            timeout=60,
        )
    finally:
        offline.faults(error_rate=0.0)

    ended = {
        "SigningsRejected": (
            wait_for(
                offline, "PackageWorkerFunction", named("SigningsRejected", signingId=rejected["signingId"])
            )
        ),
        "SigningsCancelled": (
            wait_for(offline, "ApiFunction", named("SigningsCancelled", signingId=cancelled["signingId"]))
        ),
    }
    errors = wait_for(offline, "ApiFunction", named("SignicatErrors"))

    for name, lines in ended.items():
        assert [metric(line) for line in lines] == [
            (name, "Count", {"EntryPoint": "Api", "service": "esign"}, [1.0])
        ]
    assert refused.status_code in (502, 503), refused.text
    assert [metric(line)[:3] for line in errors] == [
        ("SignicatErrors", "Count", {"Status": "503", "service": "esign"})
    ]
    assert errors[0]["operation"]
