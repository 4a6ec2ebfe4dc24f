"""The drop folder: S3 ObjectCreated under incoming/ → a signing, a receipt, and later the signed copy."""

from __future__ import annotations

import copy
import hashlib
import json
from urllib.parse import quote_plus

import pytest

from local.pdf import sample_pdf
from signing_core import repository, signing_queries
from tests.functions import load_handler
from tests.integration.conftest import FakeContext, sample_event
from tests.integration.test_package_worker import envelope, run_worker

PDF = sample_pdf("Dropped", ["A document dropped in a folder."])


@pytest.fixture
def intake(signicat):
    return load_handler("intake")


def drop(aws, key: str, body: bytes = PDF, **metadata: str) -> dict:
    """Put the object and answer the S3 notification for it, key URL-encoded as S3 sends it."""
    put = aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=body, Metadata=metadata)
    event = copy.deepcopy(sample_event("intake_s3_object_created"))
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"] = aws.bucket
    s3["object"].update(key=quote_plus(key, safe="/"), size=len(body), versionId=put.get("VersionId"))
    return event


def receipts_of(aws, name: str) -> dict[str, dict]:
    """Every receipt of the document dropped as incoming/<name>, by key (wherever they are kept)."""
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix="receipts/").get("Contents", [])
    every = {
        item["Key"]: json.loads(aws.s3.get_object(Bucket=aws.bucket, Key=item["Key"])["Body"].read())
        for item in listed
    }
    return {key: body for key, body in every.items() if body["source"]["key"] == f"incoming/{name}"}


def receipt(aws, name: str) -> dict:
    """The one receipt of incoming/<name>."""
    (only,) = receipts_of(aws, name).values()
    return only


def complete(worker, signicat, aws, session_id: str) -> None:
    signicat.act(session_id, "sign")
    signicat.wait_packaged(signing_queries.find_by_session(session_id).documentCollectionId)
    run_worker(worker, aws, envelope(session_id))


def versions(aws, key: str) -> list[dict]:
    listed = aws.s3.list_object_versions(Bucket=aws.bucket, Prefix=key)
    return [v for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []) if v["Key"] == key]


def test_dropped_pdf_starts_a_signing_and_writes_its_receipt(intake, signicat, aws):
    intake.handler(
        drop(aws, "incoming/lease.pdf", title="Lease", signers="a@example.com, b@example.com"), FakeContext()
    )
    written = receipt(aws, "lease.pdf")
    assert written["state"] == "AWAITING_SIGNATURE"
    assert len(written["sessions"]) == 2
    assert all(s["signatureUrl"].startswith(signicat.url) for s in written["sessions"])
    at_signicat = signicat.session(written["sessions"][0]["sessionId"])
    assert at_signicat["title"] == "Lease"
    assert repository.get(written["signingId"]).source["key"] == "incoming/lease.pdf"


def test_options_come_from_metadata_with_json_signers(intake, signicat, aws):
    metadata = {
        "signers": json.dumps([{"email": "x@example.com"}, {"mobile": "+4799999999"}]),
        "identity-providers": "nbid;ftn",
        "language": "nb",
        "external-reference": "case-77",
    }
    intake.handler(drop(aws, "incoming/case.pdf", **metadata), FakeContext())
    written = receipt(aws, "case.pdf")
    assert written["externalReference"] == "case-77"
    at_signicat = signicat.session(written["sessions"][1]["sessionId"])
    assert at_signicat["ui"]["language"] == "nb"
    assert [i["idpName"] for i in at_signicat["signingSetup"][0]["identityProviders"]] == ["nbid", "ftn"]


def test_signer_identity_order_and_what_the_signer_sees_come_from_metadata(intake, signicat, aws):
    signers = [
        {"email": "tenant@example.com", "nationalIdentificationNumber": "01017012345"},
        {"mobile": "+4799999999", "nationalIdentificationNumber": "02028054321", "verifyIdentity": False},
    ]
    metadata = {
        "signers": json.dumps(signers),
        "signing-order": "sequential",
        "signing-flow": "PKISIGNING",
        "vendor": "BUYPASS",
        "sender-display-name": "Example Rentals AS",
        "sign-text": "I accept the lease.",
    }
    intake.handler(drop(aws, "incoming/lease.pdf", **metadata), FakeContext())
    written = receipt(aws, "lease.pdf")
    first, second = (signicat.session(s["sessionId"]) for s in written["sessions"])
    assert first["signer"]["validations"] == ["NATIONAL_IDENTIFICATION_NUMBER"]
    assert "validations" not in second["signer"]
    assert second["subsequentTo"] == [first["id"]]
    for session in (first, second):
        assert (session["senderDisplayName"], session["signText"]) == (
            "Example Rentals AS",
            "I accept the lease.",
        )
        assert session["signingSetup"][0]["vendor"] == "BUYPASS"
    assert written["signingOrder"] == "sequential"
    assert [(s["state"], s["signer"]) for s in written["sessions"]] == [
        (
            "READY",
            {
                "email": "tenant@example.com",
                "nationalIdentificationNumber": "*******2345",
                "verifyIdentity": True,
            },
        ),
        (
            "BLOCKED",
            {"mobile": "+4799999999", "nationalIdentificationNumber": "*******4321", "verifyIdentity": False},
        ),
    ]


def test_keys_are_url_decoded_spaces_and_unicode(intake, signicat, aws):
    key = "incoming/contracts/Rental agreement Ås.pdf"
    intake.handler(drop(aws, key), FakeContext())
    assert receipt(aws, "contracts/Rental agreement Ås.pdf")["state"] == "AWAITING_SIGNATURE"


def test_sample_event_key_is_decoded(intake):
    (dropped,) = intake.dropped_objects(sample_event("intake_s3_object_created"))
    assert dropped["key"] == "incoming/contracts/Rental agreement Ås.pdf"


def test_text_documents_are_signed_too(intake, signicat, aws):
    intake.handler(drop(aws, "incoming/terms.txt", body=b"I agree to the terms."), FakeContext())
    assert receipt(aws, "terms.txt")["state"] == "AWAITING_SIGNATURE"


def test_the_same_event_twice_starts_one_signing(intake, signicat, aws):
    event = drop(aws, "incoming/once.pdf")
    intake.handler(event, FakeContext())
    intake.handler(event, FakeContext())
    assert signicat.stats()["requests"]["POST /sign/document-collections"] == 1


def test_a_new_version_of_the_same_key_starts_a_new_signing(intake, signicat, aws):
    intake.handler(drop(aws, "incoming/again.pdf"), FakeContext())
    intake.handler(drop(aws, "incoming/again.pdf"), FakeContext())
    assert signicat.stats()["requests"]["POST /sign/document-collections"] == 2


@pytest.mark.parametrize(
    ("key", "body", "metadata", "code"),
    [
        ("incoming/photo.png", b"\x89PNG....", {}, "INVALID_INPUT"),
        ("incoming/fake.pdf", b"not a pdf", {}, "INVALID_INPUT"),
        ("incoming/empty.pdf", b"", {}, "INVALID_INPUT"),
        ("incoming/bad-signers.pdf", PDF, {"signers": "[not json"}, "INVALID_INPUT"),
        ("incoming/bad-language.pdf", PDF, {"language": "xx"}, "INVALID_INPUT"),
        ("incoming/bad-mobile.pdf", PDF, {"signers": '[{"mobile": "call me"}]'}, "INVALID_INPUT"),
        ("incoming/bad-verify.pdf", PDF, {"signers": '[{"verifyIdentity": "yes"}]'}, "INVALID_INPUT"),
        ("incoming/verify-no-number.pdf", PDF, {"signers": '[{"verifyIdentity": true}]'}, "INVALID_INPUT"),
        ("incoming/pki-no-vendor.pdf", PDF, {"signing-flow": "PKISIGNING"}, "INVALID_INPUT"),
        ("incoming/nbid-english.pdf", PDF, {"signing-flow": "PKISIGNING", "vendor": "NBID"}, "INVALID_INPUT"),
        ("incoming/bad-order.pdf", PDF, {"signing-order": "random"}, "INVALID_INPUT"),
    ],
    ids=[
        "not-pdf-or-text",
        "declared-pdf-not-pdf",
        "empty",
        "unreadable-signers",
        "bad-language",
        "bad-mobile",
        "verify-not-boolean",
        "verify-without-number",
        "pki-without-vendor",
        "nbid-not-norwegian",
        "bad-signing-order",
    ],
)
def test_bad_input_gets_a_failed_receipt_and_no_signing(intake, signicat, aws, key, body, metadata, code):
    event = drop(aws, key, body=body, **metadata)
    answer = intake.handler(event, FakeContext())
    name = key.removeprefix("incoming/")
    ((receipt_key, written),) = receipts_of(aws, name).items()
    version_id = event["Records"][0]["s3"]["object"]["versionId"]
    assert receipt_key == f"receipts/{name}/refused-{version_id}.json"
    assert written["state"] == "FAILED"
    assert written["error"]["code"] == code and written["error"]["detail"]
    assert answer["receipts"][0]["state"] == "FAILED"
    assert "POST /sign/document-collections" not in signicat.stats()["requests"]


def test_document_over_the_size_limit_gets_a_failed_receipt(intake, signicat, aws, monkeypatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "100")
    intake.handler(drop(aws, "incoming/big.pdf"), FakeContext())
    assert receipt(aws, "big.pdf")["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_signicat_unavailable_raises_for_a_retry_and_writes_no_receipt(intake, signicat, aws):
    signicat.faults(error_rate=1.0)
    with pytest.raises(Exception, match="503"):
        intake.handler(drop(aws, "incoming/later.pdf"), FakeContext())
    assert aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix="receipts/")["KeyCount"] == 0
    signicat.faults(error_rate=0.0)
    intake.handler(drop(aws, "incoming/later.pdf"), FakeContext())
    assert receipt(aws, "later.pdf")["state"] == "AWAITING_SIGNATURE"


def test_completed_signing_gets_its_copy_per_name_and_signing_and_the_receipt_is_final(intake, signicat, aws):
    worker = load_handler("package_worker")
    intake.handler(drop(aws, "incoming/deal.txt", body=b"We agree."), FakeContext())
    started = receipt(aws, "deal.txt")
    signing_id = started["signingId"]
    assert set(receipts_of(aws, "deal.txt")) == {f"receipts/deal.txt/{signing_id}.json"}
    complete(worker, signicat, aws, started["sessions"][0]["sessionId"])
    final = receipt(aws, "deal.txt")
    assert final["state"] == "COMPLETED"
    assert final["signedDocument"]["key"] == f"signed/{signing_id}.pdf"
    assert final["signedDocument"]["copy"]["key"] == f"copies/deal.txt/{signing_id}.pdf"
    copy_body = aws.s3.get_object(Bucket=aws.bucket, Key=f"copies/deal.txt/{signing_id}.pdf")["Body"].read()
    assert copy_body.startswith(b"%PDF-") and b"/ByteRange" in copy_body


def test_dropping_a_signing_id_as_a_name_never_touches_that_signings_document(intake, signicat, aws):
    worker = load_handler("package_worker")
    intake.handler(drop(aws, "incoming/first.pdf"), FakeContext())
    first = receipt(aws, "first.pdf")
    complete(worker, signicat, aws, first["sessions"][0]["sessionId"])
    canonical = f"signed/{first['signingId']}.pdf"
    (stored,) = versions(aws, canonical)

    intake.handler(drop(aws, f"incoming/{first['signingId']}.pdf"), FakeContext())
    second = receipt(aws, f"{first['signingId']}.pdf")
    complete(worker, signicat, aws, second["sessions"][0]["sessionId"])

    assert receipt(aws, f"{first['signingId']}.pdf")["state"] == "COMPLETED"
    assert [v["VersionId"] for v in versions(aws, canonical)] == [stored["VersionId"]]
    recorded = repository.get(first["signingId"]).signedDocument
    body = aws.s3.get_object(Bucket=aws.bucket, Key=canonical)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == recorded["sha256"]


def test_a_pdf_and_a_txt_of_one_stem_and_a_name_dropped_twice_keep_their_own_receipts_and_copies(
    intake, signicat, aws
):
    worker = load_handler("package_worker")
    intake.handler(drop(aws, "incoming/a.pdf"), FakeContext())
    intake.handler(drop(aws, "incoming/a.txt", body=b"A text to sign."), FakeContext())
    intake.handler(drop(aws, "incoming/a.pdf"), FakeContext())  # a second version of the same name
    started = [*receipts_of(aws, "a.pdf").values(), *receipts_of(aws, "a.txt").values()]
    assert len({r["signingId"] for r in started}) == 3
    for one in started:
        complete(worker, signicat, aws, one["sessions"][0]["sessionId"])

    finals = {**receipts_of(aws, "a.pdf"), **receipts_of(aws, "a.txt")}
    assert sorted(r["state"] for r in finals.values()) == ["COMPLETED"] * 3
    copies = {r["signedDocument"]["copy"]["key"]: r["signingId"] for r in finals.values()}
    assert len(copies) == 3
    for key, signing_id in copies.items():
        assert len(versions(aws, key)) == 1, f"{key} was written more than once"
        body = aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == repository.get(signing_id).signedDocument["sha256"]
    for key in finals:
        assert len(versions(aws, key)) == 2, f"{key}: one start and one final receipt, no other signing's"


def test_rejected_signing_updates_the_receipt(intake, signicat, aws):
    worker = load_handler("package_worker")
    intake.handler(drop(aws, "incoming/no.pdf"), FakeContext())
    session_id = receipt(aws, "no.pdf")["sessions"][0]["sessionId"]
    signicat.act(session_id, "reject")
    run_worker(worker, aws, envelope(session_id, "package.failed"))
    assert receipt(aws, "no.pdf")["state"] == "REJECTED"


@pytest.mark.parametrize("key", ["incoming/x/", "incoming/contracts/2026/", "incoming/"])
def test_a_folder_marker_is_ignored_quietly(intake, signicat, aws, key, caplog):
    """The S3 console's "Create folder" puts an empty object ending in "/": no document, no receipt, no error."""
    caplog.set_level("INFO")
    answer = intake.handler(drop(aws, key, body=b""), FakeContext())
    assert answer == {"receipts": []}
    assert aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix="receipts/")["KeyCount"] == 0
    assert signicat.stats()["requests"].get("POST /sign/documents") is None
    logged = [r for r in caplog.records if r.getMessage() == "folder marker ignored"]
    assert [getattr(r, "key", None) for r in logged] == [key]
