import base64
import hashlib

import pytest

from local.pdf import sample_pdf
from tests.emulator.conftest import Api


def test_upload_pdf_answers_the_guides_fields(api):
    content = sample_pdf("Agreement", ["Clause 1."])
    answer = api.call("POST", "/sign/documents", data=content, headers={"Content-Type": "application/pdf"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["mimeType"] == "application/pdf"
    assert body["documentId"]
    assert body["createdAt"].endswith("Z")
    hex_digest = hashlib.sha256(content).hexdigest()
    assert body["documentHash"] == {
        "hash": base64.b64encode(hex_digest.encode()).decode(),
        "hashAlgorithm": "SHA256",
    }


def test_uploaded_document_downloads_with_type_and_length(api):
    document_id = api.upload(b"plain words\n", "text/plain; charset=utf-8")
    answer = api.call("GET", f"/sign/documents/{document_id}")
    assert answer.status_code == 200
    assert answer.content == b"plain words\n"
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["Content-Length"] == "12"


def test_large_document_streams_back_intact(api):
    content = b"%PDF-1.7\n" + bytes(range(256)) * 1024
    document_id = api.upload(content)
    assert api.call("GET", f"/sign/documents/{document_id}").content == content


@pytest.mark.parametrize("content_type", ["application/json", "image/png", "application/octet-stream"])
def test_upload_with_another_content_type_is_415(api, content_type):
    answer = api.call("POST", "/sign/documents", data=b"%PDF-1.7", headers={"Content-Type": content_type})
    assert answer.status_code == 415
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_empty_upload_is_400(api):
    answer = api.call("POST", "/sign/documents", data=b"", headers={"Content-Type": "application/pdf"})
    assert answer.status_code == 400
    assert "empty" in answer.json()["detail"]


def test_pdf_upload_not_starting_with_pdf_header_is_400(api):
    answer = api.call("POST", "/sign/documents", data=b"hello", headers={"Content-Type": "application/pdf"})
    assert answer.status_code == 400
    assert "%PDF-" in answer.json()["detail"]


def test_text_upload_that_is_not_utf8_is_400(api):
    answer = api.call("POST", "/sign/documents", data=b"\xff\xfe\xfa", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 400


def test_unknown_document_is_404(api):
    answer = api.call("GET", "/sign/documents/nope")
    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"


def test_unused_document_expires_after_30_minutes(make_emulator, clock):
    api = Api(make_emulator(clock=clock, token_lifetime=3600).url)
    document_id = api.upload()
    clock.advance(minutes=29, seconds=59)
    assert api.call("GET", f"/sign/documents/{document_id}").status_code == 200
    clock.advance(seconds=1)
    assert api.call("GET", f"/sign/documents/{document_id}").status_code == 404


def test_document_used_in_a_session_outlives_30_minutes(make_emulator, clock):
    api = Api(make_emulator(clock=clock, token_lifetime=3600).url)
    session = api.new_session()
    clock.advance(minutes=45)
    assert api.call("GET", f"/sign/documents/{session['documents'][0]['documentId']}").status_code == 200
