import base64
import hashlib
from datetime import timedelta

import pytest

from local.emulator.values import iso
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
    assert answer.json()["code"] == "unsupported_media_type"


def test_empty_upload_is_400(api):
    answer = api.call("POST", "/sign/documents", data=b"", headers={"Content-Type": "application/pdf"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request"
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
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "not_found"
    assert {"type", "title", "status", "code", "detail", "traceId"} <= body.keys()
    assert "invalidParams" not in body  # only a refused parameter carries them


def test_unused_document_expires_after_30_minutes(make_emulator, clock):
    api = Api(make_emulator(clock=clock, token_lifetime=3600).url)
    document_id = api.upload()
    clock.advance(minutes=29, seconds=59)
    assert api.call("GET", f"/sign/documents/{document_id}").status_code == 200
    clock.advance(seconds=1)
    assert api.call("GET", f"/sign/documents/{document_id}").status_code == 404


def status_of(api: Api, path: str) -> int:
    api.get_token()  # the fake clock moves past any token's lifetime
    return api.call("GET", path).status_code


def test_document_used_in_a_session_is_kept_until_the_sessions_due_date(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    session = api.new_session(dueDate=iso(clock.now + timedelta(days=7)))
    document = f"/sign/documents/{session['documents'][0]['documentId']}"
    clock.advance(days=7, seconds=-1)
    assert status_of(api, document) == 200
    assert status_of(api, f"/sign/signing-sessions/{session['id']}") == 200
    clock.advance(seconds=1)
    assert status_of(api, document) == 404
    assert status_of(api, f"/sign/signing-sessions/{session['id']}") == 404


def test_document_in_a_session_without_due_date_is_kept_30_days(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    session = api.new_session()
    document = f"/sign/documents/{session['documents'][0]['documentId']}"
    clock.advance(days=30, seconds=-1)
    assert status_of(api, document) == 200
    clock.advance(seconds=1)
    assert status_of(api, document) == 404


def test_document_shared_by_two_sessions_lives_as_long_as_the_later_due_date(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    document_id = api.upload()
    collection_id = api.collection(document_id)
    early, late = (
        api.session_request(collection_id, [document_id], dueDate=iso(clock.now + timedelta(days=d)))
        for d in (2, 9)
    )
    api.create_sessions(early, late)
    clock.advance(days=5)
    assert status_of(api, f"/sign/documents/{document_id}") == 200
    clock.advance(days=4)
    assert status_of(api, f"/sign/documents/{document_id}") == 404


def test_deleting_the_session_deletes_its_documents_and_signatures(api):
    session = api.new_session(packageTo=None)
    signed = api.act(session["id"], "sign").json()
    [signature] = signed["output"]["signatures"]
    assert api.call("DELETE", f"/sign/signing-sessions/{session['id']}").status_code == 204
    for document_id in (session["documents"][0]["documentId"], signature["resultDocumentId"]):
        assert api.call("GET", f"/sign/documents/{document_id}").status_code == 404


def test_deleting_one_session_keeps_a_document_another_session_uses(api):
    document_id = api.upload()
    request = api.session_request(api.collection(document_id), [document_id])
    first, _second = api.create_sessions(request, request)
    api.call("DELETE", f"/sign/signing-sessions/{first['id']}")
    assert api.call("GET", f"/sign/documents/{document_id}").status_code == 200


def test_deleted_document_is_gone(api):
    document_id = api.upload()
    assert api.call("DELETE", f"/sign/documents/{document_id}").status_code == 204
    assert api.call("GET", f"/sign/documents/{document_id}").status_code == 404
    assert api.call("DELETE", f"/sign/documents/{document_id}").status_code == 404


def test_document_metadata_is_read_and_patched(api):
    document_id = api.upload()
    patch = {"title": "Lease", "filename": "lease.pdf", "description": "Flat 3"}
    answer = api.call("PATCH", f"/sign/documents/{document_id}/metadata", json=patch)
    assert answer.status_code == 200
    metadata = api.call("GET", f"/sign/documents/{document_id}/metadata").json()
    assert metadata["documentId"] == document_id
    assert metadata["mimeType"] == "application/pdf"
    assert {k: metadata[k] for k in patch} == patch


def test_document_metadata_that_is_not_text_is_400(api):
    document_id = api.upload()
    answer = api.call("PATCH", f"/sign/documents/{document_id}/metadata", json={"title": 7})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request_parameter"
    assert [p["name"] for p in answer.json()["invalidParams"]] == ["title"]
