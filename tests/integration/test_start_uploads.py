"""A start's documents go to Signicat concurrently, a bounded number at a time, in the collection in the request's
order; a failure anywhere leaves none of them (nor the collection) at Signicat."""

from __future__ import annotations

import time

import pytest
import requests

from local.pdf import sample_pdf
from signing_core import repository, starting
from signing_core.settings import StartSettings
from signing_core.signicat import SignicatClient
from signing_core.signicat_errors import SignicatError, SignicatUnavailable

UPLOADS = "POST /sign/documents"


def documents(count: int) -> list[starting.Document]:
    pdfs = [sample_pdf(f"Contract part {n}", [f"Part {n} of {count}."]) for n in range(count)]
    return [
        starting.Document(f"part-{n}.pdf", "application/pdf", pdf, pdf[:8], len(pdf))
        for n, pdf in enumerate(pdfs)
    ]


def start(docs: list[starting.Document], concurrency: int = 3) -> repository.Signing:
    request = starting.SigningRequest(title="Contract", documents=docs)
    return starting.start_signing(request, StartSettings.from_env()._replace(upload_concurrency=concurrency))


@pytest.fixture
def uploaded(monkeypatch) -> list[str]:
    """The ids of the documents uploaded to Signicat, as the client received them."""
    ids: list[str] = []
    real = SignicatClient.upload_document

    def recording(self, body, content_type="application/pdf"):
        answer = real(self, body, content_type)
        ids.append(answer["documentId"])
        return answer

    monkeypatch.setattr(SignicatClient, "upload_document", recording)
    return ids


def test_documents_are_in_the_collection_in_the_request_order(signicat, uploaded, monkeypatch):
    docs = documents(7)
    recording = SignicatClient.upload_document

    def earlier_ones_slower(self, body, content_type="application/pdf"):
        position = [d.content for d in docs].index(body)
        time.sleep(0.03 * (len(docs) - position))  # uploads finish in the reverse of the request's order
        return recording(self, body, content_type)

    monkeypatch.setattr(SignicatClient, "upload_document", earlier_ones_slower)

    signing = start(docs)

    listed = [d["documentId"] for d in signicat.collection(signing.documentCollectionId)["documents"]]
    assert sorted(listed) == sorted(uploaded)
    assert [signicat.document(document_id) for document_id in listed] == [d.content for d in docs]


def test_uploads_run_concurrently_never_more_than_the_bound(signicat):
    signicat.faults(latency=0.2)  # each upload lasts long enough for the others to start

    start(documents(7), concurrency=3)

    assert signicat.stats()["requests"][UPLOADS] == 7
    assert signicat.stats()["peakInFlight"][UPLOADS] == 3


def test_a_single_document_is_uploaded_alone(signicat):
    start(documents(1))

    assert signicat.stats()["peakInFlight"][UPLOADS] == 1


def test_a_failed_upload_leaves_no_document_at_signicat(signicat, uploaded, monkeypatch):
    recording = SignicatClient.upload_document
    calls = []

    def third_fails(self, body, content_type="application/pdf"):
        calls.append(1)
        if len(calls) == 3:
            raise SignicatUnavailable(503, code="service_unavailable", detail="injected")
        return recording(self, body, content_type)

    monkeypatch.setattr(SignicatClient, "upload_document", third_fails)

    with pytest.raises(SignicatUnavailable):
        start(documents(6), concurrency=2)

    assert uploaded, "some uploads went through before the failure"
    assert not [d for d in uploaded if signicat.holds_document(d)]
    assert "POST /sign/document-collections" not in signicat.stats()["requests"]
    assert not repository.table().scan()["Items"]


def test_a_refused_collection_leaves_no_document_at_signicat(signicat, uploaded, monkeypatch):
    def refused(self, document_ids):
        raise SignicatError(400, code="invalid_request", detail="injected")

    monkeypatch.setattr(SignicatClient, "create_document_collection", refused)

    with pytest.raises(SignicatError):
        start(documents(4))

    assert len(uploaded) == 4
    assert not [d for d in uploaded if signicat.holds_document(d)]


def test_refused_sessions_leave_neither_the_collection_nor_the_documents(signicat, uploaded, monkeypatch):
    collections = []
    real = SignicatClient.create_document_collection

    def recording(self, document_ids):
        collections.append(real(self, document_ids)["id"])
        return {"id": collections[-1]}

    def refused(self, sessions):
        raise SignicatError(400, code="invalid_request", detail="injected")

    monkeypatch.setattr(SignicatClient, "create_document_collection", recording)
    monkeypatch.setattr(SignicatClient, "create_signing_sessions", refused)

    with pytest.raises(SignicatError):
        start(documents(3))

    with pytest.raises(requests.HTTPError) as gone:
        signicat.collection(collections[0])
    assert gone.value.response.status_code == 404
    assert not [d for d in uploaded if signicat.holds_document(d)]
    assert not signicat.sessions()
