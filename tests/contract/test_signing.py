"""What follows a signature: final states, raw signatures, the package of a session and of a collection, and
the PAdES downloaded as a PDF carrying one signature per signer.

Every test here needs someone to sign (the `signing` fixture): the emulator's script endpoint, or at the sandbox
the signing helper; without one they are skipped before anything is created.
"""

from __future__ import annotations

import time
from io import BytesIO

from signing_core.signicat_wire import lifecycle_state, pades_document_id
from tests.contract.checks import PADES_CONTAINER, collection, pades_of, session_item, signable, upload


def signature_statuses(pdf: bytes) -> list:
    """pyHanko's status of each embedded signature: intact (the digest matches) and valid (the signature
    verifies); trust is not asked, the sandbox's roots are not ours to know."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(pdf))
    return [validate_pdf_signature(s, ValidationContext(trust_roots=[])) for s in reader.embedded_signatures]


def downloaded_pades(client, document_id: str, signers: int) -> bytes:
    with client.download_document(document_id) as body:
        pdf = body.read()
    assert pdf.startswith(b"%PDF-"), pdf[:16]
    statuses = signature_statuses(pdf)
    assert len(statuses) == signers, f"{len(statuses)} signatures in the PAdES, {signers} signers"
    assert all(s.intact and s.valid for s in statuses), [s.summary() for s in statuses]
    return pdf


def test_signed_session_is_final_with_its_raw_signature(signing, client):
    """Signed, a session is SIGNED and final, with one raw signature per SIGN document {resultDocumentId,
    originalDocumentId, documentCollectionId, signatureType XADES for authentication-based signing}; asked
    for no package, it gets none."""
    item = signable(signing, client)
    (created,) = client.create_signing_sessions([item])
    signed = signing.sign(created)
    assert (signed["lifecycle"]["state"], signed["lifecycle"]["stateIsFinal"]) == ("SIGNED", True)
    (signature,) = signed["output"]["signatures"]
    document = item["documents"][0]
    assert signature["originalDocumentId"] == document["documentId"]
    assert signature["documentCollectionId"] == document["documentCollectionId"]
    assert signature["signatureType"] == "XADES"
    assert isinstance(signature["resultDocumentId"], str) and signature["resultDocumentId"]
    time.sleep(signing.settle)
    assert client.get_signing_session(created["id"])["output"].get("packages", []) == []


def test_session_package_to_gives_its_own_pades(signing, client):
    """With packageTo, the signed session gets a package {packageId, resultDocumentId, packageType
    PADES_CONTAINER} of its own (not its raw signature), which downloads as a PDF with its one signature."""
    (created,) = client.create_signing_sessions([signable(signing, client, packageTo=[PADES_CONTAINER])])
    signing.sign(created)
    session = signing.wait_for(
        lambda: _packaged(client.get_signing_session(created["id"])), "session package"
    )
    package = pades_of(session)
    assert isinstance(package.get("packageId"), str) and package["packageId"]
    assert pades_document_id(session) == package["resultDocumentId"]
    assert package["resultDocumentId"] not in {s["resultDocumentId"] for s in session["output"]["signatures"]}
    downloaded_pades(client, package["resultDocumentId"], signers=1)


def test_collection_package_waits_for_every_session_and_holds_every_signature(signing, client):
    """A collection with packageTo is packaged once every session on its documents is signed, into its own
    output (not the sessions'): one PAdES of all its documents, text included, with each signer's signature."""
    document_ids = [upload(client), upload(client, "text/plain")]
    collection_id = collection(signing, client, document_ids, package_to=[PADES_CONTAINER])
    first, second = client.create_signing_sessions(
        [session_item(signing, collection_id, document_ids) for _ in range(2)]
    )
    signing.sign(first)
    time.sleep(signing.settle)
    assert pades_of(signing.api.collection(collection_id)) is None, "packaged before every signer signed"
    signing.sign(second)
    packaged = signing.wait_for(lambda: pades_of(signing.api.collection(collection_id)), "collection package")
    for session in (first, second):
        assert client.get_signing_session(session["id"])["output"].get("packages", []) == []
    downloaded_pades(client, packaged["resultDocumentId"], signers=2)


def test_blocked_session_is_ready_once_its_predecessor_is_signed(signing, client):
    """A session subsequentTo another becomes READY when that one is signed."""
    (first,) = client.create_signing_sessions([signable(signing, client)])
    (second,) = client.create_signing_sessions([signable(signing, client, subsequentTo=[first["id"]])])
    assert lifecycle_state(second) == "BLOCKED"
    signing.sign(first)
    signing.wait_for(
        lambda: lifecycle_state(client.get_signing_session(second["id"])) == "READY", "READY successor"
    )


def test_rejected_session_is_final_and_still_readable(signing, client):
    """A signer who declines leaves the session REJECTED and final; it can still be read."""
    (created,) = client.create_signing_sessions([signable(signing, client)])
    signing.sign(created, "reject")
    read = client.get_signing_session(created["id"])
    assert (read["lifecycle"]["state"], read["lifecycle"]["stateIsFinal"]) == ("REJECTED", True)


def _packaged(session: dict) -> dict | None:
    return session if pades_of(session) else None
