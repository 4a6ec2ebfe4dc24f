"""Each metric is written once, where its event happens, through the functions' handlers (docs/observability.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signing_core import metrics, repository
from tests.conftest import emf_lines, metric_lines
from tests.functions import load_handler
from tests.integration.conftest import FakeContext
from tests.integration.test_api_function import request, start_body
from tests.integration.test_intake_function import drop
from tests.integration.test_package_worker import envelope, run_worker, start, start_packaged
from tests.integration.test_webhook_function import envelope as webhook_envelope
from tests.integration.test_webhook_function import request as webhook_request


@pytest.fixture
def api(signicat):
    from aws_lambda_powertools.metrics.provider import cold_start

    cold_start.reset_cold_start_flag()  # a new container: here one process runs the functions of many tests
    return load_handler("api")


@pytest.fixture
def worker(signicat):
    return load_handler("package_worker")


def only(output: str, name: str) -> dict:
    (line,) = metric_lines(output, name)
    return line


def dimensions(line: dict) -> dict[str, str]:
    (names,) = line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    return {name: line[name] for name in names}


def test_a_start_through_the_api_counts_one_started_signing_from_the_api_and_the_cold_start(api, capsys):
    status, created = request(api, "POST", "/signings", start_body())
    request(api, "GET", f"/signings/{created['signingId']}")
    output = capsys.readouterr().out

    started = only(output, metrics.SIGNINGS_STARTED)
    assert status == 201
    assert dimensions(started) == {"EntryPoint": "Api", "service": "esign"}
    assert started["signingId"] == created["signingId"]
    assert started["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "esign-tests"
    assert dimensions(only(output, metrics.COLD_START)) == {
        "function_name": "test-function",
        "service": "esign",
    }


def test_a_dropped_document_counts_a_started_signing_from_the_drop_folder(signicat, aws, capsys):
    intake = load_handler("intake")

    intake.handler(drop(aws, "incoming/lease.pdf"), FakeContext())

    started = only(capsys.readouterr().out, metrics.SIGNINGS_STARTED)
    assert dimensions(started) == {"EntryPoint": "DropFolder", "service": "esign"}


def test_completion_is_counted_once_with_its_sign_to_stored_latency_whatever_arrives_twice(
    worker, signicat, aws, capsys
):
    signing, session_id = start_packaged(signicat)
    event = envelope(session_id)
    event["timestamp"] = (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    capsys.readouterr()

    run_worker(worker, aws, event, dict(event), envelope(session_id))
    run_worker(worker, aws, event)
    output = capsys.readouterr().out

    completed = only(output, metrics.SIGNINGS_ENDED["COMPLETED"])
    latency = only(output, metrics.SIGN_TO_STORED)
    assert completed["signingId"] == signing.signingId
    assert dimensions(completed) == {"EntryPoint": "Api", "service": "esign"}
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "SignToStoredLatency", "Unit": "Milliseconds"}
    ]
    (value,) = latency["SignToStoredLatency"]
    assert 2000 <= value < 60_000
    assert latency["subjectId"] == session_id


def test_an_event_the_reconciler_made_up_completes_without_a_latency(worker, signicat, aws, capsys):
    _signing, session_id = start_packaged(signicat)
    recovered = envelope(session_id)
    recovered["sender"] = "reconciler"

    run_worker(worker, aws, recovered)
    output = capsys.readouterr().out

    assert len(metric_lines(output, metrics.SIGNINGS_ENDED["COMPLETED"])) == 1
    assert metric_lines(output, metrics.SIGN_TO_STORED) == []


def test_a_rejection_is_counted_once_as_rejected(worker, signicat, aws, capsys):
    signing = start()
    session_id = signing.sessions[0].sessionId
    signicat.act(session_id, "reject")

    run_worker(worker, aws, envelope(session_id))
    run_worker(worker, aws, envelope(session_id))

    rejected = only(capsys.readouterr().out, metrics.SIGNINGS_ENDED["REJECTED"])
    assert rejected["signingId"] == signing.signingId
    assert repository.get(signing.signingId).state == repository.REJECTED


def test_a_cancel_is_counted_once_even_when_repeated(api, signicat, capsys):
    _status, created = request(api, "POST", "/signings", start_body())

    request(api, "DELETE", f"/signings/{created['signingId']}")
    request(api, "DELETE", f"/signings/{created['signingId']}")

    cancelled = only(capsys.readouterr().out, metrics.SIGNINGS_ENDED["CANCELLED"])
    assert cancelled["signingId"] == created["signingId"]


def test_a_deferred_package_event_is_counted(worker, signicat, aws, capsys):
    signing = start()
    signicat.faults(packaging_delay=30)
    signicat.act(signing.sessions[0].sessionId, "sign")

    run_worker(worker, aws, envelope(signing.sessions[0].sessionId))

    deferred = only(capsys.readouterr().out, metrics.PACKAGE_EVENTS_DEFERRED)
    assert deferred["subjectId"] == signing.sessions[0].sessionId


def test_signicat_errors_are_counted_by_status(api, signicat, aws, capsys):
    signicat.faults(error_rate=1.0)

    status, _problem = request(api, "POST", "/signings", start_body())

    (error,) = metric_lines(capsys.readouterr().out, metrics.SIGNICAT_ERRORS)
    assert status == 502
    assert dimensions(error) == {"Status": "503", "service": "esign"}
    assert error["operation"] == "issuing an access token"


def test_webhook_deliveries_are_counted_accepted_duplicate_and_refused(aws, monkeypatch, capsys):
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", "hmac")  # the request helper signs the body
    webhook = load_handler("webhook")
    event = webhook_envelope("evt-counted")

    answers = [
        webhook.handler(webhook_request(event), FakeContext())["statusCode"],
        webhook.handler(webhook_request(event), FakeContext())["statusCode"],
        webhook.handler(webhook_request(event, secret="wrong"), FakeContext())["statusCode"],
        webhook.handler(webhook_request("not json"), FakeContext())["statusCode"],
    ]
    lines = emf_lines(capsys.readouterr().out)

    assert answers == [202, 200, 401, 400]
    names = [line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for line in lines]
    assert names == ["ColdStart", "WebhookAccepted", "WebhookDuplicate", "WebhookRefused", "WebhookRefused"]
    assert [line.get("status") for line in lines if "WebhookRefused" in line] == [401, 400]
    assert lines[1]["eventId"] == "evt-counted"
