"""The webhook function end to end under moto: API Gateway proxy events in, answers, queue and table out."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import WEBHOOK_SECRET
from tests.functions import load_handler

EVENTS = Path(__file__).resolve().parents[2] / "events"
SESSION_ID = "0197d5fb-d3ce-70c0-a420-68972e1c4d57"


def envelope(event_id: str = "evt-1", event_name: str = "package.completed", **fields: object) -> dict:
    return {
        "id": event_id,
        "timestamp": "2025-07-04T15:51:58.8654531Z",
        "eventName": event_name,
        "sender": "signature",
        "eventData": {"id": SESSION_ID, "externalId": "ref-1"},
        "accountId": "a-spge-test",
        "expiresAt": "2025-07-04T15:53:58.8654527Z",
        "isMockEvent": False,
        "tags": [],
        **fields,
    }


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(
    body: bytes | str | dict | list,
    *,
    headers: dict | None = None,
    query: dict | None = None,
    secret: str | None = WEBHOOK_SECRET,
    base64_encoded: bool = False,
) -> dict:
    """An API Gateway REST proxy event for POST /webhooks/signicat, signed with `secret` unless None."""
    if isinstance(body, dict | list):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    all_headers = {"Content-Type": "application/json"}
    if secret is not None:
        all_headers["X-Signicat-Signature"] = signature(raw, secret)
    all_headers.update(headers or {})
    return {
        "resource": "/webhooks/signicat",
        "path": "/webhooks/signicat",
        "httpMethod": "POST",
        "headers": all_headers,
        "queryStringParameters": query,
        "requestContext": {"requestId": "req-1", "identity": {"sourceIp": "203.0.113.10"}},
        "body": base64.b64encode(raw).decode() if base64_encoded else raw.decode("utf-8"),
        "isBase64Encoded": base64_encoded,
    }


@pytest.fixture
def webhook(aws, monkeypatch):
    """The handler module, freshly imported with the fixture's environment (hmac mode)."""
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", "hmac")
    return load_handler("webhook")


def to_secret_url(event: dict, secret: str | None) -> dict:
    """The delivery as it reaches POST /webhooks/signicat/{secret}: no signature, the secret in the path."""
    event = copy.deepcopy(event)
    event["headers"].pop("X-Signicat-Signature", None)
    event["resource"] = "/webhooks/signicat/{secret}"
    if secret is not None:
        event["path"] = f"/webhooks/signicat/{secret}"
        event["pathParameters"] = {"secret": secret}
    return event


@pytest.fixture
def url_webhook(aws, monkeypatch):
    """The handler in its default mode: the secret is the last segment of the URL's path."""
    monkeypatch.delenv("WEBHOOK_AUTH_MODE", raising=False)
    return load_handler("webhook")


# --- url mode (the default) ------------------------------------------------------------------------------


def test_url_mode_is_the_default_and_enqueues_a_delivery_to_the_secret_url(aws, url_webhook):
    response = url_webhook.handler(to_secret_url(request(envelope("evt-url")), WEBHOOK_SECRET))

    assert response["statusCode"] == 202
    [message] = messages(aws)
    assert json.loads(message["Body"])["event"]["id"] == "evt-url"


@pytest.mark.parametrize(
    "secret",
    [None, "wrong-secret-of-the-same-shape-0000000", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET.upper()],
    ids=["bare-url", "wrong", "prefix", "other-case"],
)
def test_url_mode_refuses_a_delivery_to_any_other_url_and_enqueues_nothing(aws, url_webhook, secret):
    signed = request(envelope("evt-url-refused"))  # a valid HMAC is no credential in url mode

    response = url_webhook.handler(to_secret_url(signed, secret) if secret else signed)

    assert_problem(response, 401)
    assert messages(aws) == []
    assert marker(aws, "evt-url-refused") is None


def test_url_mode_accepts_the_previous_secret_during_rotation(aws, url_webhook):
    new = "the-new-webhook-secret-after-rotation-42"
    aws.session.client("secretsmanager").put_secret_value(
        SecretId=aws.env["WEBHOOK_SECRET_ARN"], SecretString=json.dumps({"secrets": [new, WEBHOOK_SECRET]})
    )

    assert url_webhook.handler(to_secret_url(request(envelope("evt-new")), new))["statusCode"] == 202
    old = to_secret_url(request(envelope("evt-old")), WEBHOOK_SECRET)
    assert url_webhook.handler(old)["statusCode"] == 202


def test_url_mode_answers_503_while_a_secret_is_too_short_for_a_url(aws, url_webhook, caplog):
    aws.session.client("secretsmanager").put_secret_value(
        SecretId=aws.env["WEBHOOK_SECRET_ARN"], SecretString=json.dumps({"secrets": ["short"]})
    )

    response = url_webhook.handler(to_secret_url(request(envelope("evt-short")), "short"))

    assert_problem(response, 503)
    assert messages(aws) == []
    assert "at least 32 characters" in caplog.text


def messages(aws) -> list[dict]:
    received = aws.sqs.receive_message(
        QueueUrl=aws.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    )
    return received.get("Messages", [])


def marker(aws, event_id: str) -> dict | None:
    return aws.table.get_item(Key={"pk": f"EVENT#{event_id}", "sk": "EVENT"}).get("Item")


def answer(response: dict) -> dict:
    return json.loads(response["body"])


def assert_problem(response: dict, status: int) -> dict:
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = answer(response)
    assert problem["status"] == status
    assert {"type", "title", "status", "detail"} <= problem.keys()
    return problem


# --- accepted deliveries -------------------------------------------------------------------------------


@pytest.mark.parametrize("event_name", ["package.completed", "package.failed"])
def test_webhook_enqueues_package_event_once_with_event_id_attribute(aws, webhook, event_name):
    sent = envelope("evt-accepted", event_name)

    response = webhook.handler(request(sent))

    assert response["statusCode"] == 202
    assert answer(response) == {"status": "accepted"}
    [message] = messages(aws)
    assert message["MessageAttributes"]["eventId"] == {"DataType": "String", "StringValue": "evt-accepted"}
    body = json.loads(message["Body"])
    assert body["event"] == sent
    assert datetime.fromisoformat(body["receivedAt"]).tzinfo is not None


def test_webhook_accepts_base64_encoded_body(aws, webhook):
    response = webhook.handler(request(envelope("evt-b64"), base64_encoded=True))

    assert response["statusCode"] == 202
    assert len(messages(aws)) == 1


def test_webhook_reads_signature_header_in_any_case(aws, webhook):
    event = request(envelope("evt-case"))
    event["headers"] = {"x-signicat-signature": event["headers"].pop("X-Signicat-Signature")}

    assert webhook.handler(event)["statusCode"] == 202


def test_webhook_answers_duplicate_for_a_replayed_event_and_enqueues_once(aws, webhook):
    first = webhook.handler(request(envelope("evt-twice")))
    second = webhook.handler(request(envelope("evt-twice")))

    assert first["statusCode"] == 202
    assert second["statusCode"] == 200
    assert answer(second) == {"status": "duplicate"}
    assert len(messages(aws)) == 1


def test_webhook_keeps_replay_marker_a_week_past_a_future_expiry(aws, webhook):
    expires = int(time.time()) + 3 * 24 * 3600
    expires_at = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")

    webhook.handler(request(envelope("evt-future", expiresAt=expires_at)))

    assert int(marker(aws, "evt-future")["expiration"]) == expires + 7 * 24 * 3600


def test_webhook_keeps_replay_marker_a_week_past_now_for_an_expired_event(aws, webhook):
    before = int(time.time())

    webhook.handler(request(envelope("evt-past")))

    expiration = int(marker(aws, "evt-past")["expiration"])
    assert before + 7 * 24 * 3600 <= expiration <= int(time.time()) + 7 * 24 * 3600


def test_webhook_ignores_unknown_event_without_enqueueing_or_marking(aws, webhook, caplog):
    caplog.set_level(logging.INFO)

    response = webhook.handler(request(envelope("evt-other", "signing-session.created")))

    assert response["statusCode"] == 200
    assert answer(response) == {"status": "ignored"}
    assert messages(aws) == []
    assert marker(aws, "evt-other") is None
    assert "signing-session.created" in caplog.text


# --- refusals ------------------------------------------------------------------------------------------

VALID = json.dumps(envelope("evt-refused")).encode()


@pytest.mark.parametrize(
    ("event", "status"),
    [
        pytest.param(request(VALID, secret=None), 401, id="unsigned"),
        pytest.param(request(VALID, secret="wrong-secret"), 401, id="wrong-secret"),
        pytest.param(
            {**request(VALID), "body": VALID.decode().replace(SESSION_ID, "other-session")},
            401,
            id="tampered",
        ),
        pytest.param(
            request(VALID, headers={"X-Signicat-Signature": signature(VALID)[:-4]}),
            401,
            id="truncated-signature",
        ),
        pytest.param(request("{not json"), 400, id="bad-json"),
        pytest.param(request([envelope("evt-refused")]), 400, id="json-array"),
        pytest.param(request(b'\xff\xfe{"id": "x"}', base64_encoded=True), 400, id="invalid-utf8"),
        pytest.param(request("[" * 30_000 + "]" * 30_000), 400, id="deeply-nested"),
        pytest.param(request("x" * 65_537), 413, id="oversized"),
        pytest.param(request("x" * 65_537, secret=None), 413, id="oversized-before-auth"),
        pytest.param(request("{not json", secret=None), 401, id="auth-before-parse"),
    ],
)
def test_webhook_refuses_bad_delivery_and_enqueues_nothing(aws, webhook, event, status):
    response = webhook.handler(event)

    assert_problem(response, status)
    assert messages(aws) == []
    assert marker(aws, "evt-refused") is None


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"id": None}, id="id-missing"),
        pytest.param({"id": 42}, id="id-number"),
        pytest.param({"id": ""}, id="id-empty"),
        pytest.param({"id": "x" * 257}, id="id-too-long"),
        pytest.param({"eventName": None}, id="eventName-missing"),
        pytest.param({"eventName": ["package.completed"]}, id="eventName-list"),
        pytest.param({"eventData": None}, id="eventData-missing"),
        pytest.param({"eventData": SESSION_ID}, id="eventData-string"),
        pytest.param({"eventData": {"externalId": "ref-1"}}, id="eventData-id-missing"),
        pytest.param({"eventData": {"id": 7}}, id="eventData-id-number"),
    ],
)
def test_webhook_refuses_envelope_with_missing_or_mistyped_fields(aws, webhook, fields):
    sent = {key: value for key, value in {**envelope(), **fields}.items() if value is not None}

    response = webhook.handler(request(sent))

    assert_problem(response, 400)
    assert messages(aws) == []


def test_webhook_unauthenticated_answer_gives_no_hint(aws, webhook):
    unsigned = webhook.handler(request(VALID, secret=None))
    wrong = webhook.handler(request(VALID, secret="wrong-secret"))

    assert answer(unsigned) == answer(wrong)
    assert "signature" not in answer(unsigned)["detail"].lower()


# --- failures: fail closed, lose nothing ----------------------------------------------------------------


def test_webhook_answers_503_and_removes_marker_when_queue_send_fails(aws, webhook, monkeypatch):
    from signing_core import aws as core_aws

    sqs = core_aws.client("sqs")
    send = sqs.send_message
    failures = iter([RuntimeError("queue unavailable")])

    def fails_once(**kwargs: object) -> object:
        failure = next(failures, None)
        if failure:
            raise failure
        return send(**kwargs)

    monkeypatch.setattr(sqs, "send_message", fails_once)

    response = webhook.handler(request(envelope("evt-retry")))

    assert_problem(response, 503)
    assert marker(aws, "evt-retry") is None
    assert messages(aws) == []
    # Signicat's retry of the same event is then accepted, not taken for a duplicate.
    assert webhook.handler(request(envelope("evt-retry")))["statusCode"] == 202
    assert len(messages(aws)) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEBHOOK_AUTH_MODE", "none"),
        ("WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf"),
        ("QUEUE_URL", ""),
        ("TABLE_NAME", ""),
        ("WEBHOOK_MAX_BODY_BYTES", "lots"),
    ],
)
def test_webhook_refuses_with_503_when_misconfigured(aws, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    handler = load_handler("webhook").handler

    response = handler(request(envelope("evt-config")))

    assert_problem(response, 503)
    assert messages(aws) == []


@pytest.mark.parametrize("secret_value", ['{"secrets": []}', '{"secrets": [""]}', "{broken"])
def test_webhook_refuses_with_503_when_secret_holds_no_usable_secret(aws, webhook, secret_value):
    aws.session.client("secretsmanager").put_secret_value(
        SecretId=aws.env["WEBHOOK_SECRET_ARN"], SecretString=secret_value
    )

    response = webhook.handler(request(envelope("evt-empty"), secret=""))

    assert_problem(response, 503)
    assert messages(aws) == []


# --- secrets: rotation, caching, token mode, logs ------------------------------------------------------


def test_webhook_accepts_previous_secret_during_rotation(aws, webhook):
    aws.session.client("secretsmanager").put_secret_value(
        SecretId=aws.env["WEBHOOK_SECRET_ARN"],
        SecretString=json.dumps({"secrets": ["new-secret", WEBHOOK_SECRET]}),
    )

    assert webhook.handler(request(envelope("evt-new"), secret="new-secret"))["statusCode"] == 202
    assert webhook.handler(request(envelope("evt-old")))["statusCode"] == 202


def test_webhook_reads_secret_once_per_container_within_cache_lifetime(aws, webhook):
    assert webhook.handler(request(envelope("evt-1")))["statusCode"] == 202
    aws.session.client("secretsmanager").put_secret_value(
        SecretId=aws.env["WEBHOOK_SECRET_ARN"], SecretString="rotated-secret"
    )

    assert webhook.handler(request(envelope("evt-2")))["statusCode"] == 202


def test_webhook_accepts_plain_string_secret(aws, webhook):
    aws.session.client("secretsmanager").put_secret_value(
        SecretId=aws.env["WEBHOOK_SECRET_ARN"], SecretString="plain-secret"
    )

    assert webhook.handler(request(envelope("evt-plain"), secret="plain-secret"))["statusCode"] == 202


@pytest.fixture
def token_webhook(aws, monkeypatch):
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", "token")
    return load_handler("webhook")


def test_token_mode_accepts_token_header(aws, token_webhook):
    event = request(envelope("evt-token"), secret=None, headers={"x-webhook-token": WEBHOOK_SECRET})

    assert token_webhook.handler(event)["statusCode"] == 202


def test_token_mode_accepts_token_query_parameter(aws, token_webhook):
    event = request(envelope("evt-query"), secret=None, query={"token": WEBHOOK_SECRET})

    assert token_webhook.handler(event)["statusCode"] == 202


@pytest.mark.parametrize(
    "where",
    [{"headers": {"X-Webhook-Token": "guess"}}, {"query": {"token": "guess"}}, {}],
    ids=["wrong-header", "wrong-query", "none"],
)
def test_token_mode_refuses_wrong_or_missing_token(aws, token_webhook, where):
    response = token_webhook.handler(request(envelope("evt-token"), secret=None, **where))

    assert_problem(response, 401)
    assert messages(aws) == []


def test_token_mode_refuses_an_hmac_signature(aws, token_webhook):
    assert_problem(token_webhook.handler(request(envelope("evt-token"))), 401)


def test_logs_never_contain_secrets_tokens_or_signatures(aws, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="signing_core")
    caplog.set_level(logging.INFO)
    url_handler = load_handler("webhook").handler
    url_handler(to_secret_url(request(envelope("evt-log-url")), WEBHOOK_SECRET))
    url_handler(to_secret_url(request(envelope("evt-log-url-2")), "guess-token"))
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", "hmac")
    hmac_handler = load_handler("webhook").handler
    signed = request(envelope("evt-log"))
    hmac_handler(signed)
    hmac_handler(request(envelope("evt-log")))  # duplicate
    hmac_handler(request(envelope("evt-log-2"), secret="wrong-secret"))
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", "token")
    token_handler = load_handler("webhook").handler
    token_handler(request(envelope("evt-log-3"), secret=None, query={"token": WEBHOOK_SECRET}))
    token_handler(request(envelope("evt-log-4"), secret=None, headers={"X-Webhook-Token": "guess-token"}))

    assert "evt-log" in caplog.text  # the log does speak about the events
    for forbidden in (WEBHOOK_SECRET, signed["headers"]["X-Signicat-Signature"], "guess-token"):
        assert forbidden not in caplog.text


# --- the sample events stay true ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("webhook_package_completed.json", "url"),
        ("webhook_package_failed.json", "url"),
        ("webhook_collection_package_completed.json", "url"),
        ("webhook_package_completed_hmac.json", "hmac"),
    ],
)
def test_sample_event_is_accepted_by_the_handler(aws, monkeypatch, name, mode):
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", mode)
    event = json.loads((EVENTS / name).read_text())

    response = load_handler("webhook").handler(copy.deepcopy(event))

    assert response["statusCode"] == 202
    [message] = messages(aws)
    assert json.loads(message["Body"])["event"] == json.loads(event["body"])


# --- cold start -------------------------------------------------------------------------------------------


def test_handler_import_loads_no_boto3_pydantic_or_powertools():
    root = Path(__file__).resolve().parents[2]
    probe = (
        "import sys\n"
        f"sys.path[:0] = [{str(root / 'functions' / 'webhook')!r}, {str(root / 'layers' / 'core')!r}]\n"
        "import app\n"
        "heavy = [name for name in ('boto3', 'botocore', 'pydantic', 'aws_lambda_powertools') if name in sys.modules]\n"
        "print(','.join(heavy))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )

    assert result.stdout.strip() == ""
