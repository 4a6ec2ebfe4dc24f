"""The raw signature a signer leaves on each document they sign (a session's `output.signatures`).

Authentication-based signing leaves an XAdES signature (signatureType XADES): here an XML record in the
XAdES vocabulary naming the document by its SHA-256 digest, the signer and the signing time, with an
ECDSA signature of that digest by the emulator's signing certificate. It is not a verifiable XML-DSig
(no canonicalisation); nothing reads it but a client that lists signatures. PKI signing signs the PDF
itself (signatureType PADES): the document, rendered to PDF when it is text, with one PAdES signature.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape  # XML-safe too: & < > " ' (the record is written, never parsed)

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from local.emulator.pades import TestCA, as_pdf, sign_pdf
from local.emulator.store import Identity
from local.emulator.values import iso

XADES, PADES = "XADES", "PADES"

_XML = """<?xml version="1.0" encoding="UTF-8"?>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xades="http://uri.etsi.org/01903/v1.3.2#">
  <ds:SignedInfo>
    <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>
    <ds:Reference URI="{uri}">
      <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
      <ds:DigestValue>{digest}</ds:DigestValue>
    </ds:Reference>
  </ds:SignedInfo>
  <ds:SignatureValue>{value}</ds:SignatureValue>
  <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
  <ds:Object>
    <xades:QualifyingProperties>
      <xades:SignedProperties>
        <xades:SignedSignatureProperties>
          <xades:SigningTime>{time}</xades:SigningTime>
          <xades:SignerRole><xades:ClaimedRoles><xades:ClaimedRole>{signer}</xades:ClaimedRole></xades:ClaimedRoles></xades:SignerRole>
        </xades:SignedSignatureProperties>
      </xades:SignedProperties>
    </xades:QualifyingProperties>
  </ds:Object>
</ds:Signature>
"""


def raw_signature(
    ca: TestCA, document_id: str, content: bytes, mime_type: str, flow: str, signer: Identity, now: datetime
) -> tuple[bytes, str, str]:
    """(bytes, MIME type, signatureType) of the signer's signature on one document."""
    if flow == "PKISIGNING":
        return sign_pdf(as_pdf(content, mime_type), ca.signer, [signer.name]), "application/pdf", PADES
    digest = hashlib.sha256(content).digest()
    value = ca.signer_key.sign(digest, ec.ECDSA(hashes.SHA256()))
    xml = _XML.format(
        uri=escape(f"urn:signicat:document:{document_id}"),
        digest=base64.b64encode(digest).decode(),
        value=base64.b64encode(value).decode(),
        certificate=base64.b64encode(ca.signer_cert_der).decode(),
        time=iso(now),
        signer=escape(signer.name),
    )
    return xml.encode(), "application/xml", XADES
