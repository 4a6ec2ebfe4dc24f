"""The verdict on a PAdES, with PDFs signed by the emulator's own signer code and its test CA."""

from __future__ import annotations

import pytest

from local.emulator.pades import TestCA, build_package
from local.pdf import sample_pdf
from signing_verification.verdict import TrustRootsError, trust_roots, verify


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="module")
def signed(ca: TestCA) -> bytes:
    pdf = sample_pdf("Agreement", ["Verified."])
    return build_package([(pdf, "application/pdf")], ca.signer, ["Ada Lovelace", "Bob Builder"])


def test_a_pades_signed_by_every_signer_under_a_trusted_root_is_valid(ca, signed):
    verdict = verify(signed, trust_roots(ca.ca_pem), expected_signatures=2)

    assert (verdict.signatures, verdict.intact, verdict.valid, verdict.coversWholeDocument) == (
        2,
        True,
        True,
        True,
    )
    assert [s.name for s in verdict.signers] == ["Ada Lovelace", "Bob Builder"]
    assert all(s.valid and s.intact and s.trusted and s.signedAt for s in verdict.signers)
    assert [s.coverage for s in verdict.signers] == ["ENTIRE_REVISION", "ENTIRE_FILE"]
    assert verdict.problems == []


def test_the_verdict_is_plain_values_ready_to_store_and_serialize(ca, signed):
    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(type(key) is str and plain(inner) for key, inner in value.items())
        if isinstance(value, list):
            return all(plain(inner) for inner in value)
        return type(value) in (str, int, bool, type(None))

    assert plain(verify(signed, trust_roots(ca.ca_pem), expected_signatures=2).to_dict())


def test_a_changed_byte_breaks_every_signature_that_covers_it(ca, signed):
    tampered = bytearray(signed)
    tampered[20] ^= 0x01  # inside the first revision, which every signature covers

    verdict = verify(bytes(tampered), trust_roots(ca.ca_pem), expected_signatures=2)

    assert (verdict.intact, verdict.valid) == (False, False)
    assert [(s.intact, s.valid) for s in verdict.signers] == [(False, False), (False, False)]
    assert "the bytes it covers were changed" in verdict.problems[0]


def test_fewer_signatures_than_signers_is_not_valid_though_each_signature_is(ca, signed):
    verdict = verify(signed, trust_roots(ca.ca_pem), expected_signatures=3)

    assert verdict.intact and all(s.valid for s in verdict.signers)
    assert not verdict.valid
    assert verdict.problems == ["2 signature(s) where 3 signer(s) signed"]


def test_a_signature_from_another_ca_is_intact_but_not_trusted(signed):
    verdict = verify(signed, trust_roots(TestCA("Another CA").ca_pem), expected_signatures=2)

    assert verdict.intact and not verdict.valid
    assert [(s.trusted, s.valid) for s in verdict.signers] == [(False, False), (False, False)]


def test_bytes_appended_after_the_last_signature_are_not_covered(ca, signed):
    verdict = verify(signed + b"\n%appended\n", trust_roots(ca.ca_pem), expected_signatures=2)

    assert not verdict.coversWholeDocument and not verdict.valid
    assert "the file was changed after its last signature" in verdict.problems


def test_what_is_not_a_pdf_has_no_signature_and_says_why(ca):
    verdict = verify(b"hello", trust_roots(ca.ca_pem))

    assert (verdict.signatures, verdict.valid) == (0, False)
    assert verdict.problems[0].startswith("not a readable PDF")


def test_trust_roots_must_be_pem_certificates():
    with pytest.raises(TrustRootsError):
        trust_roots(b"not a certificate")
