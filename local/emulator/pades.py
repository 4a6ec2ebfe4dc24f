"""The emulator's test CA and the PAdES package: documents merged into one PDF, signed once per signer."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from local.emulator.config import utc_now
from local.pdf import text_to_pdf


class TestCA:
    """A CA generated at start (EC P-256: fast) and one signing certificate it issued."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, common_name: str = "Signicat Emulator Test CA") -> None:
        now = utc_now()
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        ca_cert = (
            _builder(ca_name, ca_name, self._ca_key.public_key(), now, days=3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._ca_key.public_key()), critical=False
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        signer_key = ec.generate_private_key(ec.SECP256R1())
        signer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Signicat Emulator Signing")])
        signer_cert = (
            _builder(signer_name, ca_name, signer_key.public_key(), now, days=365)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()), critical=False
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        self.signer_key = signer_key
        self.signer_cert_der: bytes = signer_cert.public_bytes(serialization.Encoding.DER)
        self.ca_pem: bytes = ca_cert.public_bytes(serialization.Encoding.PEM)
        self.ca_cert = asn1_x509.Certificate.load(ca_cert.public_bytes(serialization.Encoding.DER))
        self.signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(signer_cert.public_bytes(serialization.Encoding.DER)),
            signing_key=asn1_keys.PrivateKeyInfo.load(
                signer_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            cert_registry=SimpleCertificateStore.from_certs([self.ca_cert]),
        )


def _builder(subject, issuer, public_key, now, days: int) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
    )


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def as_pdf(content: bytes, mime_type: str) -> bytes:
    """A document as PDF: PDFs as they are, plain text rendered to pages."""
    if mime_type == "application/pdf":
        return content
    return text_to_pdf(content.decode("utf-8", errors="replace"))


def merge_pdfs(pdfs: list[bytes]) -> bytes:
    """All pages of the PDFs, in order, in one new PDF (each page imported as a form XObject)."""
    writer = PdfFileWriter()
    for pdf in pdfs:
        reader = PdfFileReader(BytesIO(pdf))
        for index in range(int(reader.root["/Pages"]["/Count"])):
            xobject = writer.import_page_as_xobject(reader, page_ix=index)
            media_box = xobject.get_object()["/BBox"]
            content = writer.add_object(generic.StreamObject(stream_data=b"q /Pg Do Q"))
            resources = generic.DictionaryObject(
                {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/Pg"): xobject})}
            )
            writer.insert_page(PageObject(contents=content, media_box=media_box, resources=resources))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def sign_pdf(pdf: bytes, signer: signers.Signer, signer_names: list[str]) -> bytes:
    """One PAdES signature per signer name, each in its own incremental update."""
    for index, name in enumerate(signer_names, start=1):
        meta = signers.PdfSignatureMetadata(
            field_name=f"Signature{index}",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            name=name,
            reason="Signed in the Signicat Sign API emulator",
        )
        out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer)
        pdf = out.getvalue()
    return pdf


def build_package(
    documents: list[tuple[bytes, str]], signer: signers.Signer, signer_names: list[str]
) -> bytes:
    """The PAdES of a document collection: its documents merged in order, then signed."""
    merged = merge_pdfs([as_pdf(content, mime) for content, mime in documents])
    return sign_pdf(merged, signer, signer_names)
