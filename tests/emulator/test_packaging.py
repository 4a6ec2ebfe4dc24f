import base64
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

SETTLE = 0.3  # seconds: ample for a (wrongly) scheduled packaging at the tests' 0.01 s delay


@pytest.fixture
def hooked(make_emulator, receiver):
    """An emulator delivering events to the receiver, and a client for it."""
    server = make_emulator(webhook_urls=[receiver.url])
    return server, Api(server.url)


def session_package(api: Api, session_id: str) -> bytes:
    packages = wait_until(lambda: api.session(session_id)["output"]["packages"])
    [package] = packages
    assert package["packageType"] == "PADES_CONTAINER"
    answer = api.call("GET", f"/sign/documents/{package['resultDocumentId']}")
    assert answer.headers["Content-Type"] == "application/pdf"
    return answer.content


def collection_package(api: Api, collection_id: str) -> bytes:
    [package] = wait_until(lambda: api.get_collection(collection_id)["output"]["packages"])
    assert package["packageType"] == "PADES_CONTAINER" and package["packageId"]
    return api.download(package["resultDocumentId"])


def trust_root(server_url: str) -> x509.Certificate:
    _, _, der = pem.unarmor(http("GET", f"{server_url}/_emulator/ca.pem").content)
    return x509.Certificate.load(der)


def validated_signer_names(server_url: str, pdf: bytes) -> list[str]:
    """The signers' names of every embedded signature, each checked intact, valid and trusted."""
    reader = PdfFileReader(BytesIO(pdf))
    context = ValidationContext(trust_roots=[trust_root(server_url)])
    names = []
    for signature in reader.embedded_signatures:
        status = validate_pdf_signature(signature, context)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        names.append(str(signature.sig_object["/Name"]))
    return names


def signers_collection(
    api: Api, count: int, package_to: list[str] | None, **fields
) -> tuple[str, list[dict]]:
    """A collection of one PDF and one text document, and `count` sessions on it, one per signer."""
    documents = [api.upload(), api.upload(b"Terms in plain text.\n", "text/plain")]
    collection_id = api.collection(*documents, package_to=package_to)
    requests_ = [
        api.session_request(
            collection_id,
            documents,
            externalReference=f"signer-{i}",
            signer={"email": f"signer{i}@example.com"},
            **fields,
        )
        for i in range(count)
    ]
    return collection_id, api.create_sessions(*requests_)


# --- session-level packaging


def test_signed_session_gets_its_own_pades_valid_against_the_emulator_ca(hooked):
    server, api = hooked
    session = api.new_session()
    api.act(session["id"], "sign", {"name": "Ada Lovelace"})
    assert validated_signer_names(server.url, session_package(api, session["id"])) == ["Ada Lovelace"]


def test_raw_signatures_are_xades_separate_from_the_package(hooked):
    _, api = hooked
    session = api.new_session()
    signed = api.act(session["id"], "sign").json()
    document_id = session["documents"][0]["documentId"]
    [signature] = signed["output"]["signatures"]  # there at signing, before any package
    assert signature == {
        "resultDocumentId": signature["resultDocumentId"],
        "originalDocumentId": document_id,
        "documentCollectionId": session["documents"][0]["documentCollectionId"],
        "signatureType": "XADES",
    }
    session_package(api, session["id"])
    output = api.session(session["id"])["output"]
    assert output["signatures"] == [signature]
    assert output["packages"][0]["resultDocumentId"] != signature["resultDocumentId"]
    raw = api.call("GET", f"/sign/documents/{signature['resultDocumentId']}")
    assert raw.headers["Content-Type"].startswith("application/xml")
    digest = hashlib.sha256(api.download(document_id)).digest()
    assert base64.b64encode(digest) in raw.content


def test_pki_signing_leaves_a_pades_signature_per_document(hooked):
    server, api = hooked
    setup = [
        {"signingFlow": "PKISIGNING", "vendor": "BUYPASS", "identityProviders": [{"idpName": "buypass"}]}
    ]
    session = api.new_session(signingSetup=setup, packageTo=None)
    [signature] = api.act(session["id"], "sign", {"name": "Bo Ek"}).json()["output"]["signatures"]
    assert signature["signatureType"] == "PADES"
    assert validated_signer_names(server.url, api.download(signature["resultDocumentId"])) == ["Bo Ek"]


def test_session_package_carries_only_that_sessions_signature(hooked, receiver):
    server, api = hooked
    collection_id, (first, second) = signers_collection(
        api, 2, package_to=None, packageTo=["PADES_CONTAINER"]
    )
    api.act(first["id"], "sign", {"name": "First Signer"})
    pdf = session_package(api, first["id"])
    assert validated_signer_names(server.url, pdf) == ["First Signer"]
    assert int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"]) == 2  # the text rendered to a page
    [event] = [r.event for r in receiver.wait_for(1)]
    assert event["eventData"] == {"id": first["id"], "externalId": "signer-0"}
    assert api.session(second["id"])["output"]["packages"] == []
    time.sleep(SETTLE)
    assert api.get_collection(collection_id)["output"]["packages"] == []  # the collection asked for nothing


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


def test_nothing_asked_nothing_packaged(hooked, receiver):
    _, api = hooked
    collection_id, sessions = signers_collection(api, 2, package_to=None, packageTo=None)
    for session in sessions:
        assert session["packageTo"] == []
        api.act(session["id"], "sign")
    time.sleep(SETTLE)
    assert receiver.received == []
    assert all(api.session(s["id"])["output"]["packages"] == [] for s in sessions)
    assert api.get_collection(collection_id)["output"]["packages"] == []


# --- collection-level packaging


def test_collection_is_created_with_package_to_and_empty_output(api):
    document_id = api.upload()
    collection_id = api.collection(document_id, package_to=["PADES_CONTAINER"])
    assert api.get_collection(collection_id) == {
        "id": collection_id,
        "documents": [{"documentId": document_id}],
        "packageTo": ["PADES_CONTAINER"],
        "output": {"packages": []},
    }


def test_collection_package_waits_for_every_session_then_carries_each_signers_signature(hooked, receiver):
    server, api = hooked
    collection_id, sessions = signers_collection(api, 3, package_to=["PADES_CONTAINER"], packageTo=None)
    names = ["Third Signer", "First Signer", "Second Signer"]
    for session, name in zip([sessions[2], sessions[0]], names, strict=False):
        api.act(session["id"], "sign", {"name": name})
    time.sleep(SETTLE)
    assert receiver.received == []
    assert api.get_collection(collection_id)["output"]["packages"] == []
    api.act(sessions[1]["id"], "sign", {"name": names[2]})
    pdf = collection_package(api, collection_id)
    assert validated_signer_names(server.url, pdf) == names  # one per signer, in signing order
    assert int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"]) == 2
    receiver.wait_for(1)
    # the package is the collection's, not the sessions'
    assert all(api.session(s["id"])["output"]["packages"] == [] for s in sessions)


def packaged_collection_events(make_emulator, receiver, shape: str, signers: int, expected: int):
    """Every session of a packaged collection signed; the events delivered (exactly `expected` of them)."""
    api = Api(make_emulator(webhook_urls=[receiver.url], collection_event_shape=shape).url)
    collection_id, sessions = signers_collection(api, signers, package_to=["PADES_CONTAINER"], packageTo=None)
    for session in sessions:
        api.act(session["id"], "sign")
    events = [r.event for r in receiver.wait_for(expected)]
    time.sleep(SETTLE)
    assert len(receiver.received) == expected
    assert {e["eventName"] for e in events} == {"package.completed"}
    assert api.get_collection(collection_id)["output"]["packages"]  # packaged before it is announced
    return collection_id, sessions, events


def test_collection_event_shape_collection_names_the_collection_once(make_emulator, receiver):
    collection_id, _, [event] = packaged_collection_events(make_emulator, receiver, "collection", 2, 1)
    assert event["eventData"] == {"id": collection_id, "externalId": None}


def test_collection_event_shape_sessions_names_each_session(make_emulator, receiver):
    _, sessions, events = packaged_collection_events(make_emulator, receiver, "sessions", 3, 3)
    assert sorted((e["eventData"]["id"], e["eventData"]["externalId"]) for e in events) == sorted(
        (s["id"], s["externalReference"]) for s in sessions
    )


def test_collection_package_holds_only_that_collections_documents(hooked):
    _, api = hooked
    mine, other = api.upload(sample_pdf("Mine", ["a"])), api.upload(sample_pdf("Other", ["b"]))
    mine_collection = api.collection(mine, package_to=["PADES_CONTAINER"])
    other_collection = api.collection(other)
    request = api.session_request(mine_collection, [mine], packageTo=None)
    request["documents"].append(
        {"action": "SIGN", "documentCollectionId": other_collection, "documentId": other}
    )
    [session] = api.create_sessions(request)
    api.act(session["id"], "sign")
    pdf = collection_package(api, mine_collection)
    assert int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"]) == 1
    assert api.get_collection(other_collection)["output"]["packages"] == []


def test_collection_waits_for_a_session_added_after_the_others_signed(make_emulator, receiver):
    server = make_emulator(webhook_urls=[receiver.url], packaging_delay=0.3)
    api = Api(server.url)
    collection_id, [first] = signers_collection(api, 1, package_to=["PADES_CONTAINER"], packageTo=None)
    api.act(first["id"], "sign")
    late = api.session_request(collection_id, [d["documentId"] for d in first["documents"]], packageTo=None)
    [second] = api.create_sessions(late)  # before the packaging delay has passed
    time.sleep(0.5)
    assert api.get_collection(collection_id)["output"]["packages"] == []
    api.act(second["id"], "sign")
    assert len(validated_signer_names(server.url, collection_package(api, collection_id))) == 2


def test_deleted_session_does_not_hold_up_the_collection(hooked):
    server, api = hooked
    collection_id, (first, second) = signers_collection(
        api, 2, package_to=["PADES_CONTAINER"], packageTo=None
    )
    api.call("DELETE", f"/sign/signing-sessions/{second['id']}")
    api.act(first["id"], "sign")
    assert len(validated_signer_names(server.url, collection_package(api, collection_id))) == 1


def test_deleted_collection_is_gone_with_its_package(hooked):
    _, api = hooked
    collection_id, [session] = signers_collection(api, 1, package_to=["PADES_CONTAINER"], packageTo=None)
    api.act(session["id"], "sign")
    [package] = wait_until(lambda: api.get_collection(collection_id)["output"]["packages"])
    assert api.call("DELETE", f"/sign/document-collections/{collection_id}").status_code == 204
    assert api.call("GET", f"/sign/document-collections/{collection_id}").status_code == 404
    assert api.call("GET", f"/sign/documents/{package['resultDocumentId']}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"documents": [{"documentId": "D"}], "packageTo": ["XADES"]},
        {"documents": [{"documentId": "D"}], "packageTo": "PADES_CONTAINER"},
        {"documents": [{"documentId": "D", "description": 3}]},
    ],
)
def test_collection_with_a_bad_field_is_400(api, body):
    document_id = api.upload()
    body["documents"][0]["documentId"] = document_id
    answer = api.call("POST", "/sign/document-collections", json=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request_parameter"


# --- rejection and failure


def test_rejected_session_delivers_package_failed(hooked, receiver):
    _, api = hooked
    session = api.new_session(externalReference="order-7")
    api.act(session["id"], "reject")
    [received] = receiver.wait_for(1)
    assert received.event["eventName"] == "package.failed"
    assert received.event["eventData"] == {
        "id": session["id"],
        "externalId": "order-7",
        "reason": "REJECTED_BY_SIGNER",
    }


@pytest.mark.parametrize("shape", ["collection", "sessions"])
def test_rejection_fails_the_collection_package_for_good(make_emulator, receiver, shape):
    server = make_emulator(webhook_urls=[receiver.url], collection_event_shape=shape)
    api = Api(server.url)
    collection_id, (first, second) = signers_collection(
        api, 2, package_to=["PADES_CONTAINER"], packageTo=None
    )
    api.act(first["id"], "sign")
    api.act(second["id"], "reject")
    events = [r.event for r in receiver.wait_for(1 if shape == "collection" else 2)]
    assert {(e["eventName"], e["eventData"]["reason"]) for e in events} == {
        ("package.failed", "REJECTED_BY_SIGNER")
    }
    expected = {collection_id} if shape == "collection" else {first["id"], second["id"]}
    assert {e["eventData"]["id"] for e in events} == expected
    time.sleep(SETTLE)
    assert api.get_collection(collection_id)["output"]["packages"] == []


def test_cancel_by_the_signer_sends_nothing(hooked, receiver):
    _, api = hooked
    session = api.new_session()
    assert api.act(session["id"], "cancel").json()["lifecycle"] == {"state": "READY", "stateIsFinal": False}
    time.sleep(SETTLE)
    assert receiver.received == []


# --- delivery


def test_delivery_by_default_carries_no_authentication_header(hooked, receiver):
    _, api = hooked
    api.act(api.new_session()["id"], "sign")
    [received] = receiver.wait_for(1)
    assert received.headers["Content-Type"] == "application/json"
    assert "X-Signicat-Signature" not in received.headers
    assert "X-Webhook-Token" not in received.headers


def test_delivery_in_url_mode_needs_no_secret(make_emulator, receiver):
    server = make_emulator(webhook_urls=[receiver.url + "/s3cr3t-path"], webhook_secret="")
    api = Api(server.url)
    api.act(api.new_session()["id"], "reject")
    assert receiver.wait_for(1)[0].event["eventName"] == "package.failed"


def test_delivery_in_hmac_mode_carries_an_hmac_of_the_raw_body(make_emulator, receiver):
    server = make_emulator(webhook_urls=[receiver.url], webhook_auth_mode="hmac")
    api = Api(server.url)
    api.act(api.new_session()["id"], "sign")
    [received] = receiver.wait_for(1)
    expected = hmac.new(WEBHOOK_SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-Signicat-Signature"], expected)


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
    assert int(PdfFileReader(BytesIO(session_package(api, session["id"]))).root["/Pages"]["/Count"]) == 2
