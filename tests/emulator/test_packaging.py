import hashlib
import hmac
import time
from io import BytesIO

import pytest
from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from local.pdf import sample_pdf
from tests.emulator.conftest import WEBHOOK_SECRET, Api, Receiver, http, wait_until


@pytest.fixture
def hooked(make_emulator, receiver):
    """An emulator delivering events to the receiver, and a client for it."""
    server = make_emulator(webhook_urls=[receiver.url])
    return server, Api(server.url)


def package_of(api: Api, session_id: str) -> bytes:
    packages = wait_until(lambda: api.session(session_id)["output"]["packages"])
    answer = api.call("GET", f"/sign/documents/{packages[0]['resultDocumentId']}")
    assert answer.headers["Content-Type"] == "application/pdf"
    return answer.content


def trust_root(server_url: str) -> x509.Certificate:
    _, _, der = pem.unarmor(http("GET", f"{server_url}/_emulator/ca.pem").content)
    return x509.Certificate.load(der)


def test_signed_session_gets_a_pades_that_validates_against_the_emulator_ca(hooked):
    server, api = hooked
    session = api.new_session()
    api.act(session["id"], "sign")
    reader = PdfFileReader(BytesIO(package_of(api, session["id"])))
    context = ValidationContext(trust_roots=[trust_root(server.url)])
    [signature] = reader.embedded_signatures
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted


def test_package_output_lists_the_signature_and_the_package(hooked, receiver):
    _, api = hooked
    session = api.new_session()
    api.act(session["id"], "sign")
    package_of(api, session["id"])
    output = api.session(session["id"])["output"]
    [package] = output["packages"]
    assert package["packageType"] == "PADES_CONTAINER"
    assert package["packageId"]
    assert output["signatures"] == [
        {
            "resultDocumentId": package["resultDocumentId"],
            "originalDocumentId": session["documents"][0]["documentId"],
            "signatureType": "PADES",
        }
    ]


def test_package_completed_event_has_the_guides_envelope(hooked, receiver):
    _, api = hooked
    session = api.new_session(externalReference="order-42")
    api.act(session["id"], "sign")
    [received] = receiver.wait_for(1)
    event = received.event
    assert event["eventName"] == "package.completed"
    assert event["sender"] == "signature"
    assert event["eventData"] == {"id": session["id"], "externalId": "order-42"}
    assert event["accountId"] == "a-emulator-account"
    assert event["organizationId"] is None
    assert event["isMockEvent"] is False
    assert event["tags"] == []
    assert event["id"] and event["timestamp"] < event["expiresAt"]
    # the session is packaged by the time the event arrives
    assert api.session(session["id"])["output"]["packages"]


def test_collection_with_two_sessions_is_packaged_only_after_both_signed(hooked, receiver):
    _, api = hooked
    first_doc, second_doc = api.upload(), api.upload(b"Terms in plain text.\n", "text/plain")
    collection_id = api.collection(first_doc, second_doc)
    request = api.session_request(collection_id, [first_doc, second_doc])
    first, second = api.create_sessions(request, {**request, "externalReference": "ext-2"})
    api.act(first["id"], "sign")
    time.sleep(0.2)  # ample time for a (wrongly) scheduled packaging to happen
    assert receiver.received == []
    assert api.session(first["id"])["output"]["packages"] == []
    api.act(second["id"], "sign")
    events = receiver.wait_for(2)
    assert sorted(e.event["eventData"]["id"] for e in events) == sorted([first["id"], second["id"]])
    pdf = PdfFileReader(BytesIO(package_of(api, first["id"])))
    assert int(pdf.root["/Pages"]["/Count"]) == 2  # both documents, the text one rendered to a page
    assert len(pdf.embedded_signatures) == 2  # one signature per signer session
    assert api.session(first["id"])["output"]["packages"] == api.session(second["id"])["output"]["packages"]


def test_session_without_package_to_gets_no_package(hooked, receiver):
    _, api = hooked
    session = api.new_session(packageTo=None)
    assert session["packageTo"] == []
    api.act(session["id"], "sign")
    time.sleep(0.2)
    assert receiver.received == []
    assert api.session(session["id"])["output"]["packages"] == []


@pytest.mark.parametrize(
    ("action", "reason"), [("reject", "REJECTED_BY_SIGNER"), ("cancel", "CANCELLED_BY_SIGNER")]
)
def test_rejection_delivers_package_failed(hooked, receiver, action, reason):
    _, api = hooked
    session = api.new_session(externalReference="order-7")
    api.act(session["id"], action)
    [received] = receiver.wait_for(1)
    assert received.event["eventName"] == "package.failed"
    assert received.event["eventData"] == {"id": session["id"], "externalId": "order-7", "reason": reason}


def test_delivery_carries_an_hmac_of_the_raw_body(hooked, receiver):
    _, api = hooked
    api.act(api.new_session()["id"], "sign")
    [received] = receiver.wait_for(1)
    expected = hmac.new(WEBHOOK_SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-Signicat-Signature"], expected)
    assert received.headers["Content-Type"] == "application/json"


def test_delivery_in_token_mode_carries_the_secret(make_emulator, receiver):
    server = make_emulator(webhook_urls=[receiver.url], webhook_auth_mode="token")
    api = Api(server.url)
    api.act(api.new_session()["id"], "reject")
    [received] = receiver.wait_for(1)
    assert received.headers["X-Webhook-Token"] == WEBHOOK_SECRET
    assert "X-Signicat-Signature" not in received.headers


def test_delivery_is_retried_until_the_receiver_answers_2xx(hooked, receiver):
    _, api = hooked
    receiver.statuses = [500, 503, 404]
    api.act(api.new_session()["id"], "sign")
    received = receiver.wait_for(4)
    assert len({r.event["id"] for r in received}) == 1
    stats = wait_until(lambda: (s := api.stats())["deliveries"]["succeeded"] == 1 and s)
    assert stats["deliveries"]["attempted"] == 4
    assert stats["deliveries"]["failed"] == 3


def test_delivery_to_an_unreachable_url_stops_at_expires_at(make_emulator, clock):
    server = make_emulator(webhook_urls=["http://127.0.0.1:9/unreachable"], clock=clock)
    api = Api(server.url)
    api.act(api.new_session()["id"], "reject")
    wait_until(lambda: api.stats()["deliveries"]["failed"] >= 2)
    clock.advance(seconds=120)
    wait_until(lambda: api.stats()["deliveries"]["expired"] == 1)
    assert server.emulator.deliverer.scheduler.pending() == 0


def test_delivery_goes_to_every_webhook_url(make_emulator, receiver):
    other = Receiver().start()
    try:
        server = make_emulator(webhook_urls=[receiver.url, other.url])
        api = Api(server.url)
        api.act(api.new_session()["id"], "reject")
        assert receiver.wait_for(1)[0].body == other.wait_for(1)[0].body
    finally:
        other.stop()


def test_pdf_documents_keep_their_pages_in_the_package(hooked):
    _, api = hooked
    two_pages = sample_pdf("Long", [f"line {i}" for i in range(80)])
    document_id = api.upload(two_pages)
    collection_id = api.collection(document_id)
    [session] = api.create_sessions(api.session_request(collection_id, [document_id]))
    api.act(session["id"], "sign")
    assert int(PdfFileReader(BytesIO(package_of(api, session["id"]))).root["/Pages"]["/Count"]) == 2
