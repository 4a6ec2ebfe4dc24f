"""`esign` through click's CliRunner against a real loopback HTTP server standing in for the API."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

from esign import client as client_module
from esign import signers
from esign.cli import main
from local.emulator.pades import TestCA, build_package
from local.pdf import sample_pdf

PDF = sample_pdf("Agreement", ["Signed from the command line."])


@pytest.fixture
def stack(httpserver, tmp_path) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"apiUrl": httpserver.url_for("/v1"), "emulatorUrl": httpserver.url_for("")}))
    return path


def run(stack: Path, *args: str):
    return CliRunner().invoke(main, ["--stack", str(stack), *args], catch_exceptions=False)


def signing(state: str = "AWAITING_SIGNATURE", **extra) -> dict:
    return {
        "signingId": "s-1",
        "state": state,
        "title": "Agreement",
        "externalReference": "ref-1",
        "updatedAt": "2026-12-01T12:00:00Z",
        "sessions": [
            {
                "sessionId": "x",
                "signatureUrl": "https://sign.example/x",
                "state": "READY",
                "signer": {"email": "a@example.com"},
            }
        ],
        **extra,
    }


def test_a_signer_spec_is_an_email_a_phone_or_an_identity_number_combined_with_commas():
    assert signers.parse("ada@example.com") == {"email": "ada@example.com"}
    assert signers.parse("+4791234567,nin:01017012345") == {
        "mobile": "+4791234567",
        "nationalIdentificationNumber": "01017012345",
    }
    for bad in ("ada", "+47 12", "nin:", "a@example.com,b@example.com"):
        with pytest.raises(signers.SignerSpecError):
            signers.parse(bad)


def test_start_sends_small_documents_inline_with_the_signers_order_and_language(httpserver, stack, tmp_path):
    document = tmp_path / "agreement.pdf"
    document.write_bytes(PDF)
    httpserver.expect_request("/v1/signings", method="POST").respond_with_json(signing(), status=201)

    result = run(
        stack,
        "start",
        str(document),
        "--title",
        "Agreement",
        "--signer",
        "a@example.com",
        "--signer",
        "+4791234567,nin:01017012345",
        "--order",
        "sequential",
        "--language",
        "nb",
    )

    assert result.exit_code == 0, result.output
    assert "signing s-1 AWAITING_SIGNATURE" in result.output
    assert "https://sign.example/x" in result.output
    ((request, _),) = httpserver.log
    body = request.get_json()
    assert body["signers"] == [
        {"email": "a@example.com"},
        {"mobile": "+4791234567", "nationalIdentificationNumber": "01017012345"},
    ]
    assert (body["signingOrder"], body["language"], body["title"]) == ("sequential", "nb", "Agreement")
    assert body["documents"] == [
        {
            "filename": "agreement.pdf",
            "contentType": "application/pdf",
            "content": base64.b64encode(PDF).decode(),
        }
    ]
    assert request.headers["Idempotency-Key"]


def test_start_sends_documents_past_the_inline_budget_through_an_upload_url(
    httpserver, stack, tmp_path, monkeypatch
):
    monkeypatch.setattr(client_module, "INLINE_BUDGET", len(PDF))
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first.write_bytes(PDF)
    second.write_bytes(PDF + b"%more")
    httpserver.expect_request("/v1/uploads", method="POST").respond_with_json(
        {
            "uploadId": "u-1",
            "uploadUrl": httpserver.url_for("/bucket/uploads/u-1"),
            "method": "PUT",
            "headers": {"Content-Type": "application/pdf"},
            "maxBytes": 10_000_000,
            "expiresAt": "2026-12-01T13:00:00Z",
            "filename": "b.pdf",
        },
        status=201,
    )
    httpserver.expect_request("/bucket/uploads/u-1", method="PUT").respond_with_data("", status=200)
    httpserver.expect_request("/v1/signings", method="POST").respond_with_json(signing(), status=201)

    result = run(stack, "start", str(first), str(second), "--title", "Two")

    assert result.exit_code == 0, result.output
    put = next(request for request, _ in httpserver.log if request.method == "PUT")
    assert put.get_data() == PDF + b"%more"
    started = next(r for r, _ in httpserver.log if r.path == "/v1/signings").get_json()
    assert [d.get("uploadId") for d in started["documents"]] == [None, "u-1"]
    assert "content" in started["documents"][0]


def test_an_api_problem_is_one_line_with_its_detail_and_no_traceback(httpserver, stack):
    httpserver.expect_request("/v1/signings/nope").respond_with_json(
        {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "no signing with id nope",
            "code": "NOT_FOUND",
        },
        status=404,
    )

    result = run(stack, "status", "nope")

    assert result.exit_code == 1
    assert result.output == "Error: no signing with id nope (404 NOT_FOUND)\n"


def test_an_unreachable_api_and_a_missing_stack_file_are_one_line_each(tmp_path):
    unreachable = tmp_path / "stack.json"
    unreachable.write_text(json.dumps({"apiUrl": "http://127.0.0.1:9"}))

    down = run(unreachable, "status", "s-1")
    missing = run(tmp_path / "none.json", "status", "s-1")

    assert (down.exit_code, down.output) == (
        1,
        "Error: cannot reach http://127.0.0.1:9/signings/s-1: ConnectionError\n",
    )
    assert missing.exit_code == 1 and missing.output.count("\n") == 1 and "make up" in missing.output


@pytest.mark.parametrize(
    ("state", "code"), [("COMPLETED", 0), ("AWAITING_SIGNATURE", 0), ("REJECTED", 3), ("EXPIRED", 3)]
)
def test_status_exits_non_zero_only_for_a_signing_that_ended_otherwise_than_completed(
    httpserver, stack, state, code
):
    httpserver.expect_request("/v1/signings/s-1").respond_with_json(signing(state))

    result = run(stack, "status", "s-1")

    assert result.exit_code == code
    assert state in result.output


def test_watch_follows_the_signing_until_it_is_final(httpserver, stack):
    answers = iter([signing(), signing("SIGNED"), signing("COMPLETED")])
    httpserver.expect_request("/v1/signings/s-1").respond_with_handler(
        lambda request: Response(json.dumps(next(answers)), content_type="application/json")
    )

    result = run(stack, "status", "s-1", "--watch", "--interval", "0.01")

    assert result.exit_code == 0, result.output
    assert len(httpserver.log) == 3
    assert "COMPLETED" in result.output


def test_watch_gives_up_after_its_timeout(httpserver, stack):
    httpserver.expect_request("/v1/signings/s-1").respond_with_json(signing())

    result = run(stack, "status", "s-1", "--watch", "--interval", "0.01", "--timeout", "0.05")

    assert result.exit_code == 4


def completed(httpserver, content: bytes, recorded: bytes) -> None:
    document = {
        "bucket": "b",
        "key": "signed/s-1.pdf",
        "sha256": hashlib.sha256(recorded).hexdigest(),
        "size": len(recorded),
        "downloadUrl": httpserver.url_for("/download/s-1.pdf"),
    }
    httpserver.expect_request("/v1/signings/s-1").respond_with_json(
        signing("COMPLETED", signedDocument=document)
    )
    httpserver.expect_request("/download/s-1.pdf").respond_with_data(content, content_type="application/pdf")


def test_download_saves_the_pades_once_its_sha256_is_the_records(httpserver, stack, tmp_path):
    completed(httpserver, PDF, PDF)
    into = tmp_path / "signed.pdf"

    result = run(stack, "download", "s-1", "-o", str(into))

    assert result.exit_code == 0, result.output
    assert into.read_bytes() == PDF
    assert hashlib.sha256(PDF).hexdigest() in result.output


def test_download_keeps_nothing_when_the_sha256_is_not_the_records(httpserver, stack, tmp_path):
    completed(httpserver, PDF + b"changed", PDF)
    into = tmp_path / "signed.pdf"

    result = run(stack, "download", "s-1", "-o", str(into))

    assert result.exit_code == 1
    assert "is not the record's" in result.output
    assert list(tmp_path.glob("signed.pdf*")) == []


def test_download_of_a_signing_without_a_document_says_its_state(httpserver, stack, tmp_path):
    httpserver.expect_request("/v1/signings/s-1").respond_with_json(signing())

    result = run(stack, "download", "s-1", "-o", str(tmp_path / "x.pdf"))

    assert (result.exit_code, result.output) == (
        1,
        "Error: signing s-1 is AWAITING_SIGNATURE: no signed document\n",
    )


def test_cancel_prints_the_state_it_ended_in(httpserver, stack):
    httpserver.expect_request("/v1/signings/s-1", method="DELETE").respond_with_json(signing("CANCELLED"))

    result = run(stack, "cancel", "s-1")

    assert (result.exit_code, result.output) == (0, "signing s-1 CANCELLED\n")


def test_list_asks_for_the_state_and_prints_how_to_get_the_next_page(httpserver, stack):
    summary = {k: signing()[k] for k in ("signingId", "state", "title", "externalReference", "updatedAt")}
    httpserver.expect_request(
        "/v1/signings", query_string={"limit": "5", "state": "COMPLETED"}
    ).respond_with_json({"signings": [{**summary, "createdAt": "2026-12-01T11:00:00Z"}], "nextCursor": "abc"})

    result = run(stack, "list", "--state", "COMPLETED", "--limit", "5")

    assert result.exit_code == 0, result.output
    assert "s-1" in result.output
    assert "more: esign list --cursor abc --state COMPLETED" in result.output


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


def test_verify_reports_every_signature_and_exits_0_when_all_are_valid(httpserver, stack, tmp_path, ca):
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(build_package([(PDF, "application/pdf")], ca.signer, ["Ada Lovelace", "Bob Builder"]))
    # The offline stack's default trust root: the emulator's CA.
    httpserver.expect_request("/_emulator/ca.pem").respond_with_data(ca.ca_pem)

    result = run(stack, "verify", str(signed), "--signers", "2")

    assert result.exit_code == 0, result.output
    assert "Ada Lovelace" in result.output and "Bob Builder" in result.output
    assert "VALID: 2 signature(s), the last covers the whole file" in result.output


def test_verify_exits_1_for_a_tampered_pdf_and_for_too_few_signatures(stack, tmp_path, ca):
    trust = tmp_path / "ca.pem"
    trust.write_bytes(ca.ca_pem)
    pdf = bytearray(build_package([(PDF, "application/pdf")], ca.signer, ["Ada Lovelace"]))
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(pdf)
    pdf[20] ^= 1
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(pdf)

    broken = run(stack, "verify", str(tampered), "--trust", str(trust))
    too_few = run(stack, "verify", str(signed), "--trust", str(trust), "--signers", "2")

    assert broken.exit_code == 1 and "the bytes it covers were changed" in broken.output
    assert too_few.exit_code == 1 and "1 signature(s) where 2 signer(s) signed" in too_few.output


def test_api_url_requests_are_signed_with_sigv4_from_the_callers_credentials(httpserver, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return Response(json.dumps(signing("CANCELLED")), content_type="application/json")

    httpserver.expect_request("/v1/signings/s-1", method="DELETE").respond_with_handler(answer)

    result = CliRunner().invoke(
        main, ["--api-url", httpserver.url_for("/v1"), "--region", "eu-north-1", "cancel", "s-1"]
    )

    assert result.exit_code == 0, result.output
    authorization = seen[0].headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-north-1/execute-api/aws4_request" in authorization
    assert seen[0].headers["X-Amz-Date"]
