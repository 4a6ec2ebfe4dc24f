"""The signing API function: API Gateway events in, moto for AWS, the emulator for Signicat."""

from __future__ import annotations

import base64
import copy
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from local.pdf import sample_pdf
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event

PDF = sample_pdf("Contract", ["Signed offline."])


@pytest.fixture
def api(signicat):
    return load_handler("api")


ORDERING = "arn:aws:sts::123456789012:assumed-role/ordering/i-0abc"  # the sample event's IAM principal
BILLING = "arn:aws:sts::123456789012:assumed-role/billing/i-0def"


def request(
    api,
    method: str,
    path: str,
    body=None,
    headers=None,
    raw_body: str | None = None,
    caller: str | None = ORDERING,
    query: dict[str, str] | None = None,
) -> tuple[int, dict]:
    """Invoke the API as API Gateway does, signed by the IAM principal `caller` (None: the API is open)."""
    event = copy.deepcopy(sample_event("api_start_signing"))
    event["httpMethod"], event["path"] = method, path
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    identity = event["requestContext"]["identity"]
    if caller is None:
        event["requestContext"]["identity"] = {"sourceIp": identity["sourceIp"]}
    else:
        identity["userArn"] = caller
    event["headers"] = {"Content-Type": "application/json", **(headers or {})}
    event["multiValueHeaders"] = {key: [value] for key, value in event["headers"].items()}
    event["body"] = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    answer = api.handler(event, FakeContext())
    assert answer["statusCode"] != 500, answer["body"]
    return answer["statusCode"], {**json.loads(answer["body"] or "{}"), "_headers": headers_of(answer)}


def headers_of(answer: dict) -> dict[str, str]:
    """A proxy answer's headers, whichever of the two fields carries them."""
    multi = {key: values[-1] for key, values in (answer.get("multiValueHeaders") or {}).items()}
    return {**multi, **(answer.get("headers") or {})}


def start_body(**changes) -> dict:
    body = {
        "title": "Contract",
        "documents": [
            {"filename": "c.pdf", "contentType": "application/pdf", "content": base64.b64encode(PDF).decode()}
        ],
    }
    body.update(changes)
    return body


def test_sample_start_event_starts_a_signing_at_signicat_and_stores_it(api, signicat, aws):
    answer = api.handler(sample_event("api_start_signing"), FakeContext())
    assert answer["statusCode"] == 201
    created = json.loads(answer["body"])
    assert created["state"] == "AWAITING_SIGNATURE"
    assert created["externalReference"] == "rental-2026-0042"
    assert created["signingOrder"] == "sequential"
    tenant, landlord = created["sessions"]
    assert (tenant["state"], landlord["state"]) == ("READY", "BLOCKED")
    assert tenant["signer"]["nationalIdentificationNumber"] == "*******2345"
    assert tenant["signatureUrl"].startswith(signicat.url)
    at_signicat = signicat.session(tenant["sessionId"])
    assert at_signicat["title"] == "Rental agreement between X and Y"
    assert not at_signicat.get("packageTo"), "a session's own package would carry its own signature only"
    assert signicat.collection(created["documentCollectionId"])["packageTo"] == ["PADES_CONTAINER"]
    assert at_signicat["documents"][0]["action"] == "SIGN"
    assert at_signicat["documents"][0]["documentCollectionId"] == created["documentCollectionId"]
    assert at_signicat["ui"] == {"language": "en"}
    assert at_signicat["redirectSettings"]["success"].startswith("https://www.example.com/signed")
    assert at_signicat["signer"]["validations"] == ["NATIONAL_IDENTIFICATION_NUMBER"]
    assert (at_signicat["senderDisplayName"], at_signicat["signText"]) == (
        "Example Rentals AS",
        "I have read the rental agreement and accept it.",
    )
    assert signicat.session(landlord["sessionId"])["subsequentTo"] == [tenant["sessionId"]]
    stored = aws.table.get_item(Key={"pk": f"SIGNING#{created['signingId']}", "sk": "SIGNING"})["Item"]
    assert stored["state"] == "AWAITING_SIGNATURE"
    assert headers_of(answer)["Location"] == f"/signings/{created['signingId']}"


def test_one_session_per_signer_on_one_collection_created_in_one_call(api, signicat):
    status, created = request(
        api, "POST", "/signings", start_body(signers=[{"email": "a@example.com"}, {"mobile": "+4712345678"}])
    )
    assert status == 201
    assert len(created["sessions"]) == 2
    collections = {
        signicat.session(s["sessionId"])["documents"][0]["documentCollectionId"] for s in created["sessions"]
    }
    assert collections == {created["documentCollectionId"]}
    assert signicat.stats()["requests"]["POST /sign/signing-sessions"] == 1


def test_default_identity_provider_and_language_come_from_the_environment(api, signicat, monkeypatch):
    monkeypatch.setenv("DEFAULT_IDENTITY_PROVIDER", "ftn")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "fi")
    _, created = request(api, "POST", "/signings", start_body())
    at_signicat = signicat.session(created["sessions"][0]["sessionId"])
    assert at_signicat["signingSetup"][0]["identityProviders"] == [{"idpName": "ftn"}]
    assert at_signicat["ui"]["language"] == "fi"


def test_empty_default_identity_provider_offers_every_provider(api, signicat, monkeypatch):
    monkeypatch.setenv("DEFAULT_IDENTITY_PROVIDER", "")
    status, created = request(api, "POST", "/signings", start_body())
    assert status == 201
    assert not signicat.session(created["sessions"][0]["sessionId"])["signingSetup"][0].get(
        "identityProviders"
    )


def text_document(content: bytes, filename: str = "terms.txt") -> dict:
    return {"filename": filename, "contentType": "text/plain", "content": base64.b64encode(content).decode()}


def test_text_documents_are_uploaded_as_text(api, signicat):
    status, _ = request(api, "POST", "/signings", start_body(documents=[text_document(b"I agree.")]))
    assert status == 201
    assert signicat.stats()["requests"]["POST /sign/documents"] == 1


def test_retried_request_with_the_same_idempotency_key_creates_nothing_new(api, signicat):
    headers = {"Idempotency-Key": "key-1"}
    first = request(api, "POST", "/signings", start_body(), headers=headers)
    second = request(api, "POST", "/signings", start_body(), headers=headers)
    assert first[0] == second[0] == 201
    assert first[1]["signingId"] == second[1]["signingId"]
    assert signicat.stats()["requests"]["POST /sign/document-collections"] == 1


def test_idempotency_key_reused_for_another_request_is_refused(api, signicat):
    request(api, "POST", "/signings", start_body(), headers={"Idempotency-Key": "key-2"})
    status, body = request(
        api, "POST", "/signings", start_body(title="Other"), headers={"Idempotency-Key": "key-2"}
    )
    assert status == 422
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_same_idempotency_key_from_two_principals_starts_two_signings(api, signicat):
    headers = {"Idempotency-Key": "order-4711"}
    ordering = request(api, "POST", "/signings", start_body(), headers=headers, caller=ORDERING)[1]
    billing = request(api, "POST", "/signings", start_body(), headers=headers, caller=BILLING)[1]
    assert ordering["signingId"] != billing["signingId"]
    assert {s["signatureUrl"] for s in ordering["sessions"]}.isdisjoint(
        s["signatureUrl"] for s in billing["sessions"]
    )
    again = request(api, "POST", "/signings", start_body(), headers=headers, caller=BILLING)[1]
    assert again["signingId"] == billing["signingId"]
    assert signicat.stats()["requests"]["POST /sign/document-collections"] == 2


def test_without_a_principal_the_idempotency_key_still_makes_one_signing(api, signicat):
    headers = {"Idempotency-Key": "open-api-key"}
    first = request(api, "POST", "/signings", start_body(), headers=headers, caller=None)[1]
    second = request(api, "POST", "/signings", start_body(), headers=headers, caller=None)[1]
    assert first["signingId"] == second["signingId"]


def test_without_idempotency_key_each_request_starts_a_signing(api, signicat):
    first = request(api, "POST", "/signings", start_body())[1]["signingId"]
    second = request(api, "POST", "/signings", start_body())[1]["signingId"]
    assert first != second


@pytest.mark.parametrize(
    ("body", "raw", "param"),
    [
        (None, "{not json", None),
        ({"documents": []}, None, "title"),
        (start_body(title=""), None, "title"),
        (start_body(documents=[]), None, "documents"),
        (start_body(language="xx"), None, "language"),
        (start_body(signingFlow="MAGIC"), None, "signingFlow"),
        (start_body(signers=[{"email": "not-an-email"}]), None, "signers.0.email"),
        (start_body(unknownField=1), None, "unknownField"),
        (start_body(documents=[{"filename": "a.pdf", "content": "***"}]), None, "documents.0.content"),
        (
            start_body(documents=[{"filename": "a.pdf", "contentType": "image/png", "content": "QQ=="}]),
            None,
            "documents.0.contentType",
        ),
        (start_body(redirectSettings={"success": "http://"}), None, "redirectSettings.success"),
    ],
    ids=[
        "invalid-json",
        "missing-title",
        "empty-title",
        "no-documents",
        "bad-language",
        "bad-flow",
        "bad-email",
        "unknown-field",
        "bad-base64",
        "bad-content-type",
        "redirect-without-host",
    ],
)
def test_invalid_requests_answer_400_problem_and_create_nothing(api, signicat, aws, body, raw, param):
    status, problem = request(api, "POST", "/signings", body, raw_body=raw)
    assert status == 400
    assert problem["_headers"]["Content-Type"] == "application/problem+json"
    assert problem["status"] == 400 and problem["detail"]
    if param:
        assert param in [p["name"] for p in problem["invalidParams"]]
    assert "POST /sign/documents" not in signicat.stats()["requests"]
    assert aws.table.scan()["Count"] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"hello, not a pdf", "%PDF-")],
    ids=["empty", "not-a-pdf"],
)
def test_document_declared_pdf_must_be_a_pdf(api, signicat, content, message):
    document = {
        "filename": "x.pdf",
        "contentType": "application/pdf",
        "content": base64.b64encode(content).decode(),
    }
    status, problem = request(api, "POST", "/signings", start_body(documents=[document]))
    assert status == 400
    assert message in problem["detail"]
    assert "POST /sign/documents" not in signicat.stats()["requests"]


def test_due_date_more_than_30_days_ahead_is_refused(api, signicat):
    due = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    status, problem = request(api, "POST", "/signings", start_body(dueDate=due))
    assert status == 400
    assert "30 days" in problem["detail"]


def test_due_date_within_30_days_is_passed_to_signicat(api, signicat):
    due = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    _, created = request(api, "POST", "/signings", start_body(dueDate=due.isoformat()))
    at_signicat = signicat.session(created["sessions"][0]["sessionId"])
    assert datetime.fromisoformat(at_signicat["dueDate"].replace("Z", "+00:00")) == due


def test_request_larger_than_the_limit_answers_413_before_parsing(api, signicat, monkeypatch):
    monkeypatch.setenv("MAX_REQUEST_BYTES", "1000")
    status, problem = request(api, "POST", "/signings", raw_body="x" * 1001)
    assert status == 413
    assert problem["code"] == "PAYLOAD_TOO_LARGE"


def test_document_larger_than_the_inline_limit_answers_413(api, signicat, monkeypatch):
    monkeypatch.setenv("MAX_DOCUMENT_BYTES", "100")
    status, problem = request(api, "POST", "/signings", start_body())
    assert status == 413
    assert "larger than 100 bytes" in problem["detail"]


def test_signicat_failure_answers_502_with_what_failed_and_its_trace_id(api, signicat, aws):
    signicat.faults(error_rate=1.0)
    status, problem = request(api, "POST", "/signings", start_body())
    assert status == 502
    assert problem["code"] == "SIGNICAT_UNAVAILABLE"
    # The emulator's fault hits the first call, minting the token; its own code rides along.
    assert problem["detail"].startswith("Signicat answered 503 ")
    assert problem["detail"].endswith(" while issuing an access token")
    assert problem["traceId"]
    assert aws.table.scan()["Count"] == 0


@pytest.fixture
def signicat_refusing(aws, monkeypatch, httpserver):
    """A Sign API v2 stand-in that issues tokens and refuses every document, its detail naming personal data."""
    from aws_lambda_powertools.utilities import parameters

    from signing_core import clients

    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "t", "token_type": "Bearer", "expires_in": 600}
    )
    refusal = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "code": "invalid_request_parameter",
        "detail": "signer 01017012345 does not match",
        "traceId": "trace-400",
    }
    httpserver.expect_request("/sign/documents", method="POST").respond_with_json(
        refusal, status=400, content_type="application/problem+json"
    )
    monkeypatch.setenv("SIGNICAT_API_URL", httpserver.url_for("/sign"))
    monkeypatch.setenv("SIGNICAT_TOKEN_URL", httpserver.url_for("/token"))
    clients.signicat.cache_clear()
    parameters.clear_caches()
    yield httpserver
    clients.signicat.cache_clear()


def bad_gateway(detail: str, **members: str) -> dict:
    return {"type": "about:blank", "title": "Bad Gateway", "status": 502, "detail": detail, **members}


@pytest.fixture
def api_refused(signicat_refusing):
    return load_handler("api")


def test_signicat_refusal_answers_502_with_what_failed_not_signicats_detail(api_refused, aws):
    status, problem = request(api_refused, "POST", "/signings", start_body())

    assert status == 502
    problem.pop("_headers")
    assert problem == bad_gateway(
        "Signicat answered 400 invalid_request_parameter while uploading a document",
        code="SIGNICAT_REFUSED",
        traceId="trace-400",
    )


def test_unreachable_signicat_answers_502_without_url_method_or_exception(api, signicat, monkeypatch):
    from signing_core import clients

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SIGNICAT_TOKEN_URL", f"http://127.0.0.1:{port}/token")
    clients.signicat.cache_clear()
    api.settings.cache_clear()

    status, problem = request(api, "POST", "/signings", start_body())

    assert status == 502
    problem.pop("_headers")
    assert problem == bad_gateway(
        "Signicat could not be reached while issuing an access token", code="SIGNICAT_UNAVAILABLE"
    )


def test_unknown_signing_answers_404_problem(api, signicat):
    event = sample_event("api_get_signing")
    answer = api.handler(event, FakeContext())
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["code"] == "NOT_FOUND"


def test_unknown_route_answers_404_problem(api, signicat):
    status, problem = request(api, "GET", "/nowhere")
    assert status == 404
    assert problem["title"] == "Not Found"


def test_get_answers_the_stored_signing(api, signicat):
    _, created = request(api, "POST", "/signings", start_body())
    status, signing = request(api, "GET", f"/signings/{created['signingId']}")
    assert status == 200
    assert signing["signingId"] == created["signingId"]
    assert signing["state"] == "AWAITING_SIGNATURE"
    assert signing["title"] == "Contract"
    assert "signedDocument" not in signing or signing["signedDocument"] is None


def test_idempotency_key_header_name_is_case_insensitive(api, signicat):
    first = request(api, "POST", "/signings", start_body(), headers={"idempotency-key": "key-3"})[1]
    second = request(api, "POST", "/signings", start_body(), headers={"IDEMPOTENCY-KEY": "key-3"})[1]
    assert first["signingId"] == second["signingId"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_body_that_is_not_json_answers_415(api, signicat, content_type):
    status, problem = request(
        api, "POST", "/signings", raw_body="title=x", headers={"Content-Type": content_type}
    )
    assert status == 415
    assert problem["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_base64_body_that_is_not_utf8_answers_400(api, signicat):
    event = copy.deepcopy(sample_event("api_start_signing"))
    event["body"] = base64.b64encode(b"\xff\xfe{not utf-8").decode()
    event["isBase64Encoded"] = True
    answer = api.handler(event, FakeContext())
    assert answer["statusCode"] == 400
    assert "UTF-8" in json.loads(answer["body"])["detail"]


def test_inline_text_that_is_not_utf8_answers_400_before_anything_reaches_signicat(api, signicat, aws):
    document = text_document(b"\xff\xfe", filename="t.txt")

    status, problem = request(api, "POST", "/signings", start_body(documents=[document]))

    assert status == 400
    assert problem["detail"] == "document 't.txt' is declared as text/plain but is not UTF-8"
    assert signicat.stats()["requests"].get("POST /sign/documents", 0) == 0
