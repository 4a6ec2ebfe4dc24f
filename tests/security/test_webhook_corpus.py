"""Forged and garbled webhook deliveries, as one table: each row is an API Gateway proxy event, the answer
the webhook function must give, and what it may leave behind (queue messages, replay markers).

In url mode (the default) the credential is the last segment of the URL's path, `/webhooks/signicat/{secret}`:
nothing else a delivery carries (a signature, a token, a query parameter) counts, and the segment must equal
a secret exactly. Header names are case-insensitive (HTTP says so): the signature header and the token header
are accepted in any case. Query parameter names and header *values* are not: `?Token=` is not `?token=`, and a
signature or token must match exactly. Everything else refused here leaves no queue message and no
replay marker. The whole corpus is also replayed once with every log captured, to prove that no secret,
signature or token reaches a log.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import io
import json
import logging
from dataclasses import dataclass

import pytest

from tests.conftest import WEBHOOK_SECRET
from tests.functions import load_handler

SESSION_ID = "0197d5fb-d3ce-70c0-a420-68972e1c4d57"
SIGNATURE_HEADER = "X-Signicat-Signature"
TOKEN_HEADER = "X-Webhook-Token"
MAX_BODY_BYTES = 65536  # the function's default WEBHOOK_MAX_BODY_BYTES
WRONG_SECRET = "wrong-webhook-secret-0000"
GUESSED_TOKEN = "guessed-webhook-token-0000"
HUGE = 1024 * 1024


def envelope(event_id: str, **fields: object) -> dict:
    """A Signicat event envelope; a field given as None is left out."""
    document = {
        "id": event_id,
        "timestamp": "2025-07-04T15:51:58.8654531Z",
        "eventName": "package.completed",
        "sender": "signature",
        "eventData": {"id": SESSION_ID, "externalId": "ref-1"},
        "accountId": "a-spge-test",
        "organizationId": None,
        "expiresAt": "2025-07-04T15:53:58.8654527Z",
        "tags": [],
    }
    document.update(fields)
    return {key: value for key, value in document.items() if value is not None or key == "organizationId"}


def encode(body: dict | list | str | bytes) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body).encode()


def hmac_hex(raw: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def hmac_digest(raw: bytes, secret: str = WEBHOOK_SECRET) -> bytes:
    return hmac.new(secret.encode(), raw, hashlib.sha256).digest()


def event(
    body: dict | list | str | bytes | None,
    *,
    headers: dict | None = None,
    query: dict | None = None,
    sign: bool = True,
    base64_encoded: bool = False,
    text: str | None = None,
    path_secret: str | None = None,
    path_parameters: dict | None = None,
) -> dict:
    """An API Gateway REST proxy event for POST /webhooks/signicat, or /webhooks/signicat/{secret} with
    `path_secret` (or other `path_parameters`).

    The body is signed (hex HMAC of its raw bytes) unless `sign` is False; `headers` are added after, so a
    row can replace or drop the signature. `text` replaces the body as API Gateway hands it over.
    """
    raw = b"" if body is None else encode(body)
    all_headers = {"Content-Type": "application/json"}
    if sign:
        all_headers[SIGNATURE_HEADER] = hmac_hex(raw)
    all_headers.update(headers or {})
    if text is None:
        text = base64.b64encode(raw).decode() if base64_encoded else raw.decode("utf-8", "surrogatepass")
    if path_secret is not None:
        path_parameters = {"secret": path_secret}
    resource, path = "/webhooks/signicat", "/webhooks/signicat"
    if path_parameters:
        resource, path = (
            "/webhooks/signicat/{secret}",
            f"/webhooks/signicat/{next(iter(path_parameters.values()))}",
        )
    return {
        "resource": resource,
        "path": path,
        "pathParameters": path_parameters,
        "httpMethod": "POST",
        "headers": {name: value for name, value in all_headers.items() if value is not None},
        "multiValueHeaders": None,
        "queryStringParameters": query,
        "requestContext": {"requestId": "req-corpus", "identity": {"sourceIp": "203.0.113.10"}},
        "body": None if body is None else text,
        "isBase64Encoded": base64_encoded,
    }


def padded_to(size: int, event_id: str) -> bytes:
    """A valid envelope padded with trailing whitespace (still JSON) to exactly `size` bytes."""
    raw = json.dumps(envelope(event_id)).encode()
    return raw + b" " * (size - len(raw))


@dataclass(frozen=True)
class Row:
    """One delivery of the corpus and the answer it must get."""

    name: str
    event: dict
    status: int
    outcome: str | None = None  # the JSON answer's status for 2xx: accepted, ignored, duplicate
    mode: str = "hmac"
    before: tuple[dict, ...] = ()  # deliveries made first (a replay needs its original)


def valid(name: str) -> bytes:
    return json.dumps(envelope(f"evt-{name}")).encode()


def without(name: str, key: str) -> dict:
    document = envelope(f"evt-{name}")
    del document[key]
    return document


def with_event_data(name: str, data: object) -> dict:
    return envelope(f"evt-{name}", eventData=data)


# --- the corpus ------------------------------------------------------------------------------------------

ACCEPTED = [
    # Url mode: the secret as the path segment, nothing else needed; what else the delivery carries is not read.
    Row(
        "secret-in-path", event(valid("url"), sign=False, path_secret=WEBHOOK_SECRET), 202, "accepted", "url"
    ),
    Row(
        "secret-in-path-with-a-wrong-signature-header",
        event(
            valid("url-sig"),
            headers={SIGNATURE_HEADER: hmac_hex(valid("url-sig"), WRONG_SECRET)},
            path_secret=WEBHOOK_SECRET,
        ),
        202,
        "accepted",
        "url",
    ),
    Row(
        "secret-in-path-base64-body",
        event(valid("url-b64"), sign=False, base64_encoded=True, path_secret=WEBHOOK_SECRET),
        202,
        "accepted",
        "url",
    ),
    Row("signed-hex", event(valid("signed-hex")), 202, "accepted"),
    # Header names in any case: lower (HTTP/2 and API Gateway's usual form), upper, mixed.
    Row(
        "signature-header-lower-case",
        event(
            valid("sig-lower"),
            sign=False,
            headers={SIGNATURE_HEADER.lower(): hmac_hex(valid("sig-lower"))},
        ),
        202,
        "accepted",
    ),
    Row(
        "signature-header-upper-case",
        event(
            valid("sig-upper"),
            sign=False,
            headers={SIGNATURE_HEADER.upper(): hmac_hex(valid("sig-upper"))},
        ),
        202,
        "accepted",
    ),
    Row(
        "signature-header-mixed-case",
        event(valid("sig-mixed"), sign=False, headers={"x-SIGNICAT-signature": hmac_hex(valid("sig-mixed"))}),
        202,
        "accepted",
    ),
    # The signature formats the function reads: hex in either case, sha256=<hex>, base64, url-safe base64.
    Row(
        "signature-hex-upper-case",
        event(valid("hex-upper"), headers={SIGNATURE_HEADER: hmac_hex(valid("hex-upper")).upper()}),
        202,
        "accepted",
    ),
    Row(
        "signature-sha256-prefix",
        event(valid("prefixed"), headers={SIGNATURE_HEADER: "sha256=" + hmac_hex(valid("prefixed"))}),
        202,
        "accepted",
    ),
    Row(
        "signature-base64",
        event(
            valid("b64-sig"),
            headers={SIGNATURE_HEADER: base64.b64encode(hmac_digest(valid("b64-sig"))).decode()},
        ),
        202,
        "accepted",
    ),
    Row(
        "signature-base64-url-safe",
        event(
            valid("b64url-sig"),
            headers={SIGNATURE_HEADER: base64.urlsafe_b64encode(hmac_digest(valid("b64url-sig"))).decode()},
        ),
        202,
        "accepted",
    ),
    Row("base64-encoded-body", event(valid("b64-body"), base64_encoded=True), 202, "accepted"),
    Row("body-exactly-at-size-limit", event(padded_to(MAX_BODY_BYTES, "evt-at-limit")), 202, "accepted"),
    Row(
        "huge-unrelated-header",
        event(valid("huge-other"), headers={"X-Padding": "p" * HUGE}),
        202,
        "accepted",
    ),
    # Token mode: the token header in any case, or the `token` query parameter.
    Row(
        "token-header",
        event(valid("token"), sign=False, headers={TOKEN_HEADER: WEBHOOK_SECRET}),
        202,
        "accepted",
        mode="token",
    ),
    Row(
        "token-header-lower-case",
        event(valid("token-lower"), sign=False, headers={TOKEN_HEADER.lower(): WEBHOOK_SECRET}),
        202,
        "accepted",
        mode="token",
    ),
    Row(
        "token-header-upper-case",
        event(valid("token-upper"), sign=False, headers={TOKEN_HEADER.upper(): WEBHOOK_SECRET}),
        202,
        "accepted",
        mode="token",
    ),
    Row(
        "token-query-parameter",
        event(valid("token-query"), sign=False, query={"token": WEBHOOK_SECRET}),
        202,
        "accepted",
        mode="token",
    ),
]

ANSWERED_WITHOUT_ENQUEUEING = [
    Row(
        "unknown-event-name-to-the-secret-url",
        event(
            envelope("evt-url-unknown", eventName="signing-session.created"),
            sign=False,
            path_secret=WEBHOOK_SECRET,
        ),
        200,
        "ignored",
        "url",
    ),
    Row(
        "unknown-event-name",
        event(envelope("evt-unknown", eventName="signing-session.created")),
        200,
        "ignored",
    ),
    Row(
        "event-name-in-other-case",
        event(envelope("evt-upper", eventName="Package.Completed")),
        200,
        "ignored",
    ),
    Row(
        "replayed-event-id",
        event(valid("replayed")),
        200,
        "duplicate",
        before=(event(valid("replayed")),),
    ),
    Row(
        "replayed-event-id-with-other-body",
        event(envelope("evt-replayed-other", eventName="package.failed")),
        200,
        "duplicate",
        before=(event(valid("replayed-other")),),
    ),
]

_truncated = hmac_hex(valid("truncated"))
URL_REFUSED = [
    # Url mode (401): only the path segment counts, and only when it is a secret exactly.
    Row("bare-url", event(valid("u-bare"), sign=False), 401, mode="url"),
    Row("bare-url-signed", event(valid("u-signed")), 401, mode="url"),
    Row(
        "wrong-secret-in-path",
        event(valid("u-wrong"), sign=False, path_secret=WRONG_SECRET * 2),
        401,
        mode="url",
    ),
    Row(
        "empty-path-segment",
        event(valid("u-empty"), sign=False, path_parameters={"secret": ""}),
        401,
        mode="url",
    ),
    Row(
        "prefix-of-the-secret-in-path",
        event(valid("u-prefix"), sign=False, path_secret=WEBHOOK_SECRET[:-1]),
        401,
        mode="url",
    ),
    Row(
        "secret-and-more-in-path",
        event(valid("u-longer"), sign=False, path_secret=WEBHOOK_SECRET + "0"),
        401,
        mode="url",
    ),
    Row(
        "secret-in-other-case-in-path",
        event(valid("u-case"), sign=False, path_secret=WEBHOOK_SECRET.upper()),
        401,
        mode="url",
    ),
    Row(
        "secret-with-trailing-space-in-path",
        event(valid("u-space"), sign=False, path_secret=WEBHOOK_SECRET + " "),
        401,
        mode="url",
    ),
    Row(
        "non-ascii-path-segment",
        event(valid("u-non-ascii"), sign=False, path_secret="é" * 40),
        401,
        mode="url",
    ),
    Row("huge-path-segment", event(valid("u-huge"), sign=False, path_secret="a" * HUGE), 401, mode="url"),
    Row(
        "secret-under-another-path-parameter",
        event(valid("u-other-param"), sign=False, path_parameters={"proxy": WEBHOOK_SECRET}),
        401,
        mode="url",
    ),
    Row(
        "secret-as-token-header-in-url-mode",
        event(valid("u-token"), sign=False, headers={TOKEN_HEADER: WEBHOOK_SECRET}),
        401,
        mode="url",
    ),
    Row(
        "secret-as-query-parameter-in-url-mode",
        event(valid("u-query"), sign=False, query={"token": WEBHOOK_SECRET, "secret": WEBHOOK_SECRET}),
        401,
        mode="url",
    ),
    Row(
        "secret-as-bearer-authorization-in-url-mode",
        event(valid("u-bearer"), sign=False, headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}),
        401,
        mode="url",
    ),
    Row("secret-in-path-in-hmac-mode", event(valid("h-path"), sign=False, path_secret=WEBHOOK_SECRET), 401),
    Row(
        "secret-in-path-in-token-mode",
        event(valid("t-path"), sign=False, path_secret=WEBHOOK_SECRET),
        401,
        mode="token",
    ),
    # With the secret: size first (413), then the envelope (400), as in every mode.
    Row(
        "secret-in-path-body-past-size-limit",
        event(padded_to(MAX_BODY_BYTES + 1, "evt-u-past"), sign=False, path_secret=WEBHOOK_SECRET),
        413,
        mode="url",
    ),
    Row(
        "wrong-secret-body-past-size-limit",
        event(padded_to(MAX_BODY_BYTES + 1, "evt-u-past-2"), sign=False, path_secret="guess"),
        413,
        mode="url",
    ),
    Row(
        "secret-in-path-not-json", event("{not json", sign=False, path_secret=WEBHOOK_SECRET), 400, mode="url"
    ),
    Row(
        "secret-in-path-eventData-id-missing",
        event(with_event_data("u-data-id", {"externalId": None}), sign=False, path_secret=WEBHOOK_SECRET),
        400,
        mode="url",
    ),
    Row("wrong-secret-not-json", event("{not json", sign=False, path_secret="guess"), 401, mode="url"),
]

REFUSED = [
    *URL_REFUSED,
    # Authentication (401): the body is never looked at before it passes.
    Row("unsigned", event(valid("unsigned"), sign=False), 401),
    Row("no-headers-at-all", {**event(valid("no-headers"), sign=False), "headers": None}, 401),
    Row(
        "wrong-secret",
        event(valid("wrong"), headers={SIGNATURE_HEADER: hmac_hex(valid("wrong"), WRONG_SECRET)}),
        401,
    ),
    Row("empty-signature", event(valid("empty-sig"), headers={SIGNATURE_HEADER: ""}), 401),
    Row("truncated-signature", event(valid("truncated"), headers={SIGNATURE_HEADER: _truncated[:-2]}), 401),
    Row(
        "signature-with-extra-characters",
        event(valid("extended"), headers={SIGNATURE_HEADER: hmac_hex(valid("extended")) + "00"}),
        401,
    ),
    Row(
        "tampered-body-with-old-signature",
        event(
            valid("tampered").replace(SESSION_ID.encode(), b"another-session"),
            headers={SIGNATURE_HEADER: hmac_hex(valid("tampered"))},
        ),
        401,
    ),
    Row(
        "sha1-signature",
        event(
            valid("sha1"),
            headers={
                SIGNATURE_HEADER: "sha1="
                + hmac.new(WEBHOOK_SECRET.encode(), valid("sha1"), hashlib.sha1).hexdigest()
            },
        ),
        401,
    ),
    Row("non-ascii-signature", event(valid("non-ascii"), headers={SIGNATURE_HEADER: "é" * 64}), 401),
    Row(
        "signature-under-other-header-name",
        event(valid("other-name"), sign=False, headers={"X-Signature": hmac_hex(valid("other-name"))}),
        401,
    ),
    Row(
        "signature-header-with-underscores",
        event(
            valid("underscored"), sign=False, headers={"X_Signicat_Signature": hmac_hex(valid("underscored"))}
        ),
        401,
    ),
    Row("huge-signature-header", event(valid("huge-sig"), headers={SIGNATURE_HEADER: "a" * HUGE}), 401),
    Row(
        "signature-of-the-base64-text-not-the-body",
        event(
            valid("b64-text"),
            base64_encoded=True,
            headers={SIGNATURE_HEADER: hmac_hex(base64.b64encode(valid("b64-text")))},
        ),
        401,
    ),
    Row(
        "token-in-hmac-mode",
        event(valid("token-hmac"), sign=False, headers={TOKEN_HEADER: WEBHOOK_SECRET}),
        401,
    ),
    Row(
        "token-query-in-hmac-mode",
        event(valid("query-hmac"), sign=False, query={"token": WEBHOOK_SECRET}),
        401,
    ),
    Row("unsigned-empty-body", event(None, sign=False), 401),
    # Token mode refusals.
    Row(
        "token-wrong",
        event(valid("t-wrong"), sign=False, headers={TOKEN_HEADER: GUESSED_TOKEN}),
        401,
        mode="token",
    ),
    Row("token-empty", event(valid("t-empty"), sign=False, headers={TOKEN_HEADER: ""}), 401, mode="token"),
    Row(
        "token-prefix-of-secret",
        event(valid("t-prefix"), sign=False, headers={TOKEN_HEADER: WEBHOOK_SECRET[:-1]}),
        401,
        mode="token",
    ),
    Row(
        "token-with-trailing-space",
        event(valid("t-space"), sign=False, headers={TOKEN_HEADER: WEBHOOK_SECRET + " "}),
        401,
        mode="token",
    ),
    Row(
        "token-query-parameter-in-other-case",
        event(valid("t-query-case"), sign=False, query={"Token": WEBHOOK_SECRET}),
        401,
        mode="token",
    ),
    Row(
        "token-as-bearer-authorization",
        event(valid("t-bearer"), sign=False, headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}),
        401,
        mode="token",
    ),
    Row("hmac-signature-in-token-mode", event(valid("t-hmac")), 401, mode="token"),
    # Size (413): checked before authentication, so an unsigned flood costs no HMAC.
    Row("body-one-byte-past-size-limit", event(padded_to(MAX_BODY_BYTES + 1, "evt-past-limit")), 413),
    Row("huge-body-unsigned", event("x" * HUGE, sign=False), 413),
    Row(
        "base64-body-past-size-limit-once-decoded",
        event(padded_to(MAX_BODY_BYTES + 1, "evt-b64-past-limit"), base64_encoded=True),
        413,
    ),
    # Signed, but not an envelope (400).
    Row("empty-body", event(b""), 400),
    Row("no-body", event(None), 400),
    Row("not-json", event("{not json"), 400),
    Row("json-array", event([envelope("evt-array")]), 400),
    Row("json-string", event('"package.completed"'), 400),
    Row("json-number", event("42"), 400),
    Row("json-null", event("null"), 400),
    Row("deeply-nested-json", event("[" * 30_000 + "]" * 30_000), 400),
    Row("invalid-utf8-base64", event(b'{"id": "\xff\xfe"}', base64_encoded=True), 400),
    Row("invalid-utf8-lone-surrogate", event('{"id": "\udcff"}'), 400),
    Row(
        "base64-flag-on-a-body-that-is-not-base64",
        event(valid("not-b64"), text="{not base64!}", base64_encoded=True),
        400,
    ),
    Row(
        "base64-flag-unsigned-not-base64",
        event(valid("not-b64-2"), sign=False, text="%%%", base64_encoded=True),
        400,
    ),
    # Each field the product relies on: missing, and of each wrong type.
    Row("id-missing", event(without("id-missing", "id")), 400),
    Row("id-null", event(envelope("x") | {"id": None}), 400),
    Row("id-number", event(envelope("x") | {"id": 42}), 400),
    Row("id-boolean", event(envelope("x") | {"id": True}), 400),
    Row("id-list", event(envelope("x") | {"id": ["evt-list"]}), 400),
    Row("id-object", event(envelope("x") | {"id": {"id": "evt-object"}}), 400),
    Row("id-empty", event(envelope("x") | {"id": ""}), 400),
    Row("id-blank", event(envelope("x") | {"id": "   "}), 400),
    Row("id-too-long", event(envelope("e" * 257)), 400),
    Row("eventName-missing", event(without("name-missing", "eventName")), 400),
    Row("eventName-null", event(envelope("evt-name-null") | {"eventName": None}), 400),
    Row("eventName-number", event(envelope("evt-name-number", eventName=1)), 400),
    Row("eventName-list", event(envelope("evt-name-list", eventName=["package.completed"])), 400),
    Row("eventName-empty", event(envelope("evt-name-empty", eventName="")), 400),
    Row("eventData-missing", event(without("data-missing", "eventData")), 400),
    Row("eventData-null", event(envelope("evt-data-null") | {"eventData": None}), 400),
    Row("eventData-string", event(with_event_data("data-string", SESSION_ID)), 400),
    Row("eventData-list", event(with_event_data("data-list", [{"id": SESSION_ID}])), 400),
    Row("eventData-number", event(with_event_data("data-number", 7)), 400),
    Row("eventData-id-missing", event(with_event_data("data-id-missing", {"externalId": "ref-1"})), 400),
    Row("eventData-id-null", event(with_event_data("data-id-null", {"id": None})), 400),
    Row("eventData-id-number", event(with_event_data("data-id-number", {"id": 7})), 400),
    Row("eventData-id-empty", event(with_event_data("data-id-empty", {"id": ""})), 400),
    Row("eventData-id-list", event(with_event_data("data-id-list", {"id": [SESSION_ID]})), 400),
    Row("eventData-id-too-long", event(with_event_data("data-id-long", {"id": "s" * 257})), 400),
]

CORPUS = ACCEPTED + ANSWERED_WITHOUT_ENQUEUEING + REFUSED


# --- what a delivery leaves behind -----------------------------------------------------------------------


def queued(aws) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=aws.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def markers(aws) -> dict[str, int]:
    """Every replay marker in the table, with its expiration."""
    items = aws.table.scan()["Items"]
    return {item["pk"]: int(item["expiration"]) for item in items if item["pk"].startswith("EVENT#")}


def webhook(monkeypatch, mode: str):
    """The webhook handler in one authentication mode, freshly imported (it reads its settings on first call)."""
    monkeypatch.setenv("WEBHOOK_AUTH_MODE", mode)
    return load_handler("webhook").handler


def deliver(handler, case: Row) -> dict:
    for earlier in case.before:
        assert handler(copy.deepcopy(earlier))["statusCode"] == 202
    return handler(copy.deepcopy(case.event))


def params(rows: list[Row]) -> list:
    return [pytest.param(r, id=f"{r.mode}-{r.name}") for r in rows]


# --- the corpus, row by row ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", params(REFUSED))
def test_forged_or_garbled_delivery_is_refused_and_leaves_no_trace(aws, monkeypatch, case):
    handler = webhook(monkeypatch, case.mode)

    response = handler(copy.deepcopy(case.event))

    assert response["statusCode"] == case.status
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(response["body"])
    assert problem["status"] == case.status
    assert queued(aws) == 0
    assert markers(aws) == {}


@pytest.mark.parametrize("case", params(ANSWERED_WITHOUT_ENQUEUEING))
def test_unknown_event_or_replay_is_answered_200_and_enqueues_nothing_more(aws, monkeypatch, case):
    handler = webhook(monkeypatch, case.mode)
    for earlier in case.before:
        assert handler(copy.deepcopy(earlier))["statusCode"] == 202
    queued_before, markers_before = queued(aws), markers(aws)

    response = handler(copy.deepcopy(case.event))

    assert response["statusCode"] == case.status
    assert json.loads(response["body"]) == {"status": case.outcome}
    assert queued(aws) == queued_before
    assert markers(aws) == markers_before  # a replay neither adds a marker nor extends the old one


@pytest.mark.parametrize("case", params(ACCEPTED))
def test_authentic_delivery_in_each_accepted_form_is_enqueued_once(aws, monkeypatch, case):
    handler = webhook(monkeypatch, case.mode)

    response = handler(copy.deepcopy(case.event))

    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {"status": "accepted"}
    assert queued(aws) == 1
    assert len(markers(aws)) == 1


def test_corpus_rows_have_unique_names_and_cover_every_answer():
    names = [f"{r.mode}-{r.name}" for r in CORPUS]

    assert len(names) == len(set(names))
    assert {r.status for r in CORPUS} == {200, 202, 400, 401, 413}
    assert {r.mode for r in REFUSED} == {"url", "hmac", "token"}


# --- the corpus as a whole: logs ------------------------------------------------------------------------


def sensitive_values() -> set[str]:
    """The secrets, every signature or token the corpus sends, and the valid signatures it could have sent."""
    values = {WEBHOOK_SECRET, WRONG_SECRET, GUESSED_TOKEN}
    for case in CORPUS:
        for sent in (case.event, *case.before):
            for name, value in (sent.get("headers") or {}).items():
                if name.lower() in {SIGNATURE_HEADER.lower(), TOKEN_HEADER.lower(), "authorization"}:
                    values.add(value)
            values.update((sent.get("queryStringParameters") or {}).values())
            values.update((sent.get("pathParameters") or {}).values())
        raw = case.event.get("body") or ""
        if not case.event.get("isBase64Encoded"):
            values.add(hmac_hex(raw.encode("utf-8", "surrogatepass")))
    # Fragments shorter than this (an empty token, "é"*64 aside) would match by chance.
    return {value for value in values if len(value) >= 16 and value.strip("a") and not value.startswith("é")}


@pytest.mark.parametrize(
    "third_party_level",
    [
        pytest.param(logging.INFO, id="libraries-at-info"),
        # botocore logs whole response bodies at DEBUG (Secrets Manager's SecretString among them);
        # signing_core.aws keeps botocore.parsers at INFO, which this case proves.
        pytest.param(logging.DEBUG, id="libraries-at-debug"),
    ],
)
def test_logs_over_the_whole_corpus_hold_no_secret_signature_or_token(
    aws, monkeypatch, caplog, capsys, third_party_level
):
    from awslambdaric.lambda_runtime_log_utils import JsonFormatter

    caplog.set_level(third_party_level)
    caplog.set_level(logging.DEBUG, logger="signing_core")
    # What Lambda's runtime does with log records (LoggingConfig JSON): every key of a record, tracebacks
    # included, formatted onto a stream.
    stream = io.StringIO()
    console = logging.StreamHandler(stream)
    console.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(console)
    answers = []
    try:
        for mode in ("url", "hmac", "token"):
            handler = webhook(monkeypatch, mode)
            answers += [json.dumps(deliver(handler, case)) for case in CORPUS if case.mode == mode]
    finally:
        logging.getLogger().removeHandler(console)
    captured = capsys.readouterr()
    logged = "\n".join([caplog.text, stream.getvalue(), captured.out, captured.err])

    assert "webhook event accepted" in logged  # the log does speak, about events
    assert "evt-signed-hex" in logged
    leaked = sorted(value[:24] + "..." for value in sensitive_values() if value in logged)
    assert leaked == []
    echoed = sorted(value[:24] + "..." for value in sensitive_values() if any(value in a for a in answers))
    assert echoed == []
