"""The verdict on a signed PDF: every signature checked by pyHanko against the given trust roots.

A signature is valid when its digest matches the bytes it covers (intact), its CMS signature verifies, its
certificate chains to a trust root, and what was added after it only fills signature fields. The document is
valid when it carries at least the expected number of signatures, every one valid, the newest covering the
whole file (nothing appended after the last signature).
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

# What a later revision may add without breaking an earlier signature: signature fields (signers after it).
_HARMLESS = {"NONE", "LTA_UPDATES", "FORM_FILLING"}
_WHOLE = {"ENTIRE_FILE", "ENTIRE_REVISION"}
# pyHanko logs each failed validation with its traceback; the verdict already says what failed.
logging.getLogger("pyhanko").setLevel(logging.ERROR)


class TrustRootsError(ValueError):
    """The trust roots are not PEM certificates."""


@dataclass(frozen=True)
class SignatureVerdict:
    """One signature: who signed, when (as the signer's software reported it), and what holds."""

    field: str
    name: str | None
    certificate: str | None
    signedAt: str | None
    intact: bool
    trusted: bool
    valid: bool
    coverage: str
    modifications: str | None
    problem: str | None = None


@dataclass(frozen=True)
class Verdict:
    signatures: int
    expectedSignatures: int
    intact: bool
    valid: bool
    coversWholeDocument: bool
    signers: list[SignatureVerdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def trust_roots(pem: bytes) -> list[Any]:
    """The certificates of a PEM bundle (one or more CERTIFICATE blocks), as pyHanko takes them."""
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509

    if not asn1_pem.detect(pem):
        raise TrustRootsError("the trust roots are not PEM")
    try:
        roots = [
            x509.Certificate.load(der)
            for kind, _, der in asn1_pem.unarmor(pem, multiple=True)
            if kind == "CERTIFICATE"
        ]
        for root in roots:
            root.native  # noqa: B018 - parses the whole certificate now, not halfway through a validation
    except ValueError as error:
        raise TrustRootsError(f"the trust roots hold a malformed certificate: {error}") from None
    if not roots:
        raise TrustRootsError("the trust roots hold no CERTIFICATE")
    return roots


def verify(pdf: bytes, roots: list[Any], expected_signatures: int = 1) -> Verdict:
    """The verdict on `pdf`; `expected_signatures` is how many signers the document should carry."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        embedded = list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        return _verdict([], expected_signatures, [f"not a readable PDF: {error}"])
    return _verdict([_signature(signature, roots) for signature in embedded], expected_signatures, [])


def _verdict(signers: list[SignatureVerdict], expected: int, problems: list[str]) -> Verdict:
    problems = [*problems, *(f"{s.field}: {s.problem}" for s in signers if s.problem)]
    if len(signers) < expected:
        problems.append(f"{len(signers)} signature(s) where {expected} signer(s) signed")
    whole = bool(signers) and signers[-1].coverage == "ENTIRE_FILE"
    if signers and not whole:
        problems.append("the file was changed after its last signature")
    intact = bool(signers) and all(s.intact for s in signers)
    valid = intact and whole and len(signers) >= expected and all(s.valid for s in signers)
    return Verdict(
        signatures=len(signers),
        expectedSignatures=expected,
        intact=intact,
        valid=valid,
        coversWholeDocument=whole,
        signers=signers,
        problems=problems,
    )


def _signature(embedded: Any, roots: list[Any]) -> SignatureVerdict:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    name = embedded.sig_object.get("/Name")
    # pyHanko's strings are its own str subclasses: plain ones are stored and serialized.
    base = {"field": str(embedded.field_name), "name": str(name) if name is not None else None}
    try:
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=roots))
    except Exception as error:  # pyHanko raises many kinds for a malformed signature: each is a broken one
        return SignatureVerdict(
            **base,
            certificate=None,
            signedAt=None,
            intact=False,
            trusted=False,
            valid=False,
            coverage="UNCLEAR",
            modifications=None,
            problem=f"cannot be validated: {error}",
        )
    coverage = status.coverage.name if status.coverage is not None else "UNCLEAR"
    modifications = status.modification_level.name if status.modification_level is not None else None
    later_changes_harmless = modifications in _HARMLESS and coverage in _WHOLE
    valid = bool(status.intact and status.valid and status.trusted and later_changes_harmless)
    problem = None
    if not status.intact:
        problem = "the bytes it covers were changed"
    elif not status.valid:
        problem = "its cryptographic signature does not verify"
    elif not status.trusted:
        problem = "its certificate does not chain to a trust root"
    elif not later_changes_harmless:
        problem = f"changed after signing ({modifications or 'unknown'} modifications, {coverage} coverage)"
    reported = status.signer_reported_dt
    return SignatureVerdict(
        **base,
        certificate=status.signing_cert.subject.human_friendly,
        signedAt=reported.isoformat() if reported else None,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        valid=valid,
        coverage=coverage,
        modifications=modifications,
        problem=problem,
    )
