"""A retried start finds the first signing: whatever failed after (or during) the first start, there is one
signing per request, and nothing the first start made at Signicat is left behind unfound."""

from __future__ import annotations

import copy
import json

import pytest
import requests
from boto3.dynamodb.conditions import Attr

from signing_core import storage, uploads
from signing_core.signicat_errors import SignicatUnavailable
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event
from tests.integration.test_api_function import start_body
from tests.integration.test_intake_function import drop, receipt

SESSIONS_POST = "POST /sign/signing-sessions"


class Killed(BaseException):
    """What Lambda does to an invocation at its timeout: no handler, no cleanup, runs after it."""


@pytest.fixture
def api(signicat):
    return load_handler("api")


def start(api, key: str = "order-4711", body: dict | None = None) -> dict:
    event = copy.deepcopy(sample_event("api_start_signing"))
    event["headers"] = {"Content-Type": "application/json", "Idempotency-Key": key}
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    event["body"] = json.dumps(body or start_body())
    return api.handler(event, FakeContext())


def fail_once(monkeypatch, owner, name: str, error: BaseException, after_the_real_call: bool = False) -> None:
    """`owner.name` raises `error` the first time it is called (after doing its work, if asked), then works."""
    real = getattr(owner, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            return real(*args, **kwargs)
        if after_the_real_call:
            real(*args, **kwargs)
        raise error

    monkeypatch.setattr(owner, name, failing)


def signicat_client(monkeypatch, name: str, error: BaseException) -> None:
    """The Sign API client's `name` does its call, then fails once with `error` (its answer lost, or a kill)."""
    from signing_core.signicat import SignicatClient

    fail_once(monkeypatch, SignicatClient, name, error, after_the_real_call=True)


def forget_powertools_records(aws) -> None:
    """What happens to Powertools' record when an invocation dies: its in-progress record lapses."""
    items = aws.table.scan(FilterExpression=Attr("status").exists())["Items"]
    assert items, "Powertools kept no record to forget"
    for item in items:
        aws.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def run_out_leases(aws) -> None:
    """Time passes beyond every start's lease (the invocation's remaining time and a margin)."""
    for item in aws.table.scan(FilterExpression=Attr("pk").begins_with("START#"))["Items"]:
        aws.table.update_item(
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET leaseUntil = :zero",
            ExpressionAttributeValues={":zero": 0},
        )


def signings(aws) -> list[dict]:
    return aws.table.scan(FilterExpression=Attr("sk").eq("SIGNING"))["Items"]


def test_a_retry_after_the_api_failed_past_the_start_finds_the_first_signing(api, signicat, aws, monkeypatch):
    fail_once(monkeypatch, uploads, "forget_uploads", RuntimeError("the invocation failed after the start"))
    assert start(api)["statusCode"] == 500  # Powertools forgets a failed invocation's record
    retried = start(api)
    assert retried["statusCode"] == 201, retried["body"]
    (stored,) = signings(aws)
    assert json.loads(retried["body"])["signingId"] == stored["signingId"]
    assert signicat.stats()["requests"][SESSIONS_POST] == 1


def test_a_retry_while_the_first_start_runs_answers_409_and_one_after_it_died_cleans_up(
    api, signicat, aws, monkeypatch
):
    signicat_client(monkeypatch, "create_signing_sessions", Killed())
    with pytest.raises(Killed):
        start(api)
    (orphan,) = signicat.sessions()
    forget_powertools_records(aws)

    running = start(api)
    assert running["statusCode"] == 409, running["body"]
    assert json.loads(running["body"])["code"] == "IN_PROGRESS"

    run_out_leases(aws)
    retried = start(api)
    assert retried["statusCode"] == 201, retried["body"]
    created = json.loads(retried["body"])
    (stored,) = signings(aws)
    assert created["signingId"] == stored["signingId"]
    with pytest.raises(requests.HTTPError, match="404"):
        signicat.session(orphan["id"])
    assert [s["id"] for s in signicat.sessions()] == [created["sessions"][0]["sessionId"]]


def test_sessions_whose_creation_answer_was_lost_are_found_and_deleted_by_the_retry(
    api, signicat, aws, monkeypatch
):
    lost = SignicatUnavailable(0, code="TIMEOUT", detail="no answer in time")
    signicat_client(monkeypatch, "create_signing_sessions", lost)
    assert start(api)["statusCode"] == 502
    (orphan,) = signicat.sessions()

    retried = start(api)  # at once: a failed attempt gives its lease back
    assert retried["statusCode"] == 201, retried["body"]
    created = json.loads(retried["body"])
    assert [s["id"] for s in signicat.sessions()] == [created["sessions"][0]["sessionId"]]
    assert orphan["id"] != created["sessions"][0]["sessionId"]
    assert len(signings(aws)) == 1


def test_a_start_signicat_refused_leaves_no_record_and_the_retry_starts_afresh(api, signicat, aws):
    signicat.faults(error_rate=1.0)
    assert start(api)["statusCode"] == 502
    signicat.faults(error_rate=0.0)
    assert aws.table.scan(FilterExpression=Attr("pk").begins_with("START#"))["Items"] == []
    assert start(api)["statusCode"] == 201


def test_the_same_key_with_another_body_is_refused_after_the_first_invocation_failed(
    api, signicat, aws, monkeypatch
):
    fail_once(monkeypatch, uploads, "forget_uploads", RuntimeError("the invocation failed after the start"))
    assert start(api)["statusCode"] == 500
    other = start(api, body=start_body(title="Another contract"))
    assert other["statusCode"] == 422
    assert json.loads(other["body"])["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert signicat.stats()["requests"][SESSIONS_POST] == 1


def test_a_dropped_document_retried_after_its_receipt_failed_keeps_its_first_signing(
    signicat, aws, monkeypatch
):
    intake = load_handler("intake")
    event = drop(aws, "incoming/lease.pdf")
    fail_once(monkeypatch, storage, "put_json", RuntimeError("S3 refused the receipt"))
    with pytest.raises(RuntimeError, match="receipt"):
        intake.handler(event, FakeContext())
    intake.handler(event, FakeContext())  # Lambda retries the failed invocation
    (stored,) = signings(aws)
    assert receipt(aws, "lease.pdf")["signingId"] == stored["signingId"]
    assert signicat.stats()["requests"][SESSIONS_POST] == 1


def test_a_dropped_document_still_being_started_is_retried_not_refused(signicat, aws):
    from signing_core import start_requests

    intake = load_handler("intake")
    event = drop(aws, "incoming/busy.pdf")
    s3 = event["Records"][0]["s3"]
    running = start_requests.StartRequest(
        key=start_requests.dropped_object_key(aws.bucket, "incoming/busy.pdf", s3["object"]["versionId"]),
        fingerprint="",
        lease_seconds=60,
        keep_seconds=60,
    )
    start_requests.begin(running)  # another invocation has begun this very object version
    with pytest.raises(start_requests.InProgress):
        intake.handler(event, FakeContext())
    assert aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix="receipts/")["KeyCount"] == 0
    assert SESSIONS_POST not in signicat.stats()["requests"]


def test_a_key_whose_start_failed_can_be_retried_with_another_body(api, signicat, aws, monkeypatch):
    """A 502 started nothing: as without a start record, the caller may correct its request and retry."""
    lost = SignicatUnavailable(0, code="TIMEOUT", detail="no answer in time")
    signicat_client(monkeypatch, "create_signing_sessions", lost)
    assert start(api)["statusCode"] == 502
    retried = start(api, body=start_body(title="Contract, corrected"))
    assert retried["statusCode"] == 201, retried["body"]
    (stored,) = signings(aws)
    assert (stored["signingId"], stored["title"]) == (
        json.loads(retried["body"])["signingId"],
        "Contract, corrected",
    )
    assert len(signicat.sessions()) == 1


def fail_on_call(monkeypatch, number: int, error: BaseException, after_the_real_call: bool = False) -> None:
    """The Sign API client's session creation fails at its `number`th call (after doing it, if asked)."""
    from signing_core.signicat import SignicatClient

    real = SignicatClient.create_signing_sessions
    calls = []

    def failing(self, sessions):
        calls.append(1)
        if len(calls) != number:
            return real(self, sessions)
        if after_the_real_call:
            real(self, sessions)
        raise error

    monkeypatch.setattr(SignicatClient, "create_signing_sessions", failing)


SEQUENTIAL = start_body(
    signers=[{"email": f"signer{n}@example.com"} for n in range(3)], signingOrder="sequential"
)


def test_a_sequential_start_that_died_between_its_posts_is_cleaned_up_by_the_retry(
    api, signicat, aws, monkeypatch
):
    fail_on_call(monkeypatch, 3, Killed())  # two sessions exist when the invocation dies
    with pytest.raises(Killed):
        start(api, body=SEQUENTIAL)
    orphans = signicat.sessions()
    assert len(orphans) == 2
    forget_powertools_records(aws)
    run_out_leases(aws)

    retried = start(api, body=SEQUENTIAL)
    assert retried["statusCode"] == 201, retried["body"]
    created = json.loads(retried["body"])
    assert [s["id"] for s in signicat.sessions()] == [s["sessionId"] for s in created["sessions"]]
    assert [s["state"] for s in created["sessions"]] == ["READY", "BLOCKED", "BLOCKED"]
    assert len(signings(aws)) == 1


def test_a_sequential_start_refused_at_its_second_post_deletes_the_first_session_at_once(
    api, signicat, aws, monkeypatch
):
    from signing_core.signicat_errors import SignicatError

    fail_on_call(monkeypatch, 2, SignicatError(400, code="invalid_request_parameter", detail="refused"))
    failed = start(api, body=SEQUENTIAL)
    assert failed["statusCode"] == 502, failed["body"]
    assert signicat.sessions() == []
    assert aws.table.scan(FilterExpression=Attr("pk").begins_with("START#"))["Items"] == []  # nothing to find
    assert start(api, body=SEQUENTIAL)["statusCode"] == 201


def test_a_sequential_start_whose_second_post_lost_its_answer_leaves_the_rest_for_the_retry(
    api, signicat, aws, monkeypatch
):
    lost = SignicatUnavailable(0, code="TIMEOUT", detail="no answer in time")
    fail_on_call(monkeypatch, 2, lost, after_the_real_call=True)
    assert start(api, body=SEQUENTIAL)["statusCode"] == 502
    (unknown,) = signicat.sessions()  # the first was deleted at once; the second's id never came back
    assert unknown["signer"]["email"] == "signer1@example.com"
    retried = start(api, body=SEQUENTIAL)
    assert retried["statusCode"] == 201, retried["body"]
    created = json.loads(retried["body"])
    assert [s["id"] for s in signicat.sessions()] == [s["sessionId"] for s in created["sessions"]]
