"""Everything Signicat would refuse in a start, refused before anything is sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from signing_core.errors import InvalidInput, PayloadTooLarge
from signing_core.pdf_stream import PDF_MAGIC
from signing_core.signicat_wire import REDIRECT_KINDS
from signing_core.signing_requests import Document, Signer, SigningRequest
from signing_core.vocabulary import (
    CONTENT_TYPES,
    EMAIL_PATTERN,
    HTTP_URL_PATTERN,
    LANGUAGES,
    MOBILE_PATTERN,
    NBID,
    NORWEGIAN_LANGUAGES,
    PDF,
    PKISIGNING,
    PLAIN_TEXT,
    PRINTABLE_PATTERN,
    SIGNING_FLOWS,
    SIGNING_ORDERS,
)

MAX_DUE_DAYS = 30


def check_document(document: Document, max_bytes: int) -> None:
    if document.content_type not in CONTENT_TYPES:
        raise InvalidInput(
            f"document {document.filename!r}: contentType must be one of {', '.join(CONTENT_TYPES)}"
        )
    if document.size == 0:
        raise InvalidInput(f"document {document.filename!r} is empty")
    if document.size > max_bytes:
        raise PayloadTooLarge(f"document {document.filename!r} is larger than {max_bytes} bytes")
    if document.content_type == PDF and not document.head.startswith(PDF_MAGIC):
        raise InvalidInput(
            f"document {document.filename!r} is declared as a PDF but does not start with %PDF-"
        )
    if (
        document.content_type == PLAIN_TEXT
        and isinstance(document.content, bytes)
        and not _is_utf8(document.content)
    ):
        # Signicat refuses text it cannot decode; an inline document is checked whole before it is sent.
        raise InvalidInput(f"document {document.filename!r} is declared as text/plain but is not UTF-8")


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_request(request: SigningRequest, now: datetime) -> None:
    """Everything Signicat would refuse in a session, refused before anything is sent (the request's defaults
    already applied: `with_defaults`)."""
    if not request.title or not request.title.strip():
        raise InvalidInput("title must not be empty")
    if not request.documents:
        raise InvalidInput("at least one document is needed")
    if not request.signers:
        raise InvalidInput("at least one signer is needed")
    if request.language and request.language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    if request.signingFlow not in SIGNING_FLOWS:
        raise InvalidInput(f"signingFlow must be one of {', '.join(SIGNING_FLOWS)}")
    if request.signingOrder not in SIGNING_ORDERS:
        invalid("signingOrder", f"must be one of {', '.join(SIGNING_ORDERS)}")
    _check_signing_setup(request)
    for index, signer in enumerate(request.signers):
        _check_signer(signer, f"signers.{index}")
    for kind, url in (request.redirectSettings or {}).items():
        if kind not in REDIRECT_KINDS:
            invalid(f"redirectSettings.{kind}", f"is none of {', '.join(REDIRECT_KINDS)}")
        if url is not None and not _is_http_url(url):
            invalid(f"redirectSettings.{kind}", "must be an absolute http(s) URL")
    if request.dueDate is not None:
        due = request.dueDate if request.dueDate.tzinfo else request.dueDate.replace(tzinfo=UTC)
        if due <= now:
            raise InvalidInput("dueDate must be in the future")
        if due > now + timedelta(days=MAX_DUE_DAYS):
            raise InvalidInput(f"dueDate must be at most {MAX_DUE_DAYS} days ahead")


def _check_signing_setup(request: SigningRequest) -> None:
    for index, idp in enumerate(request.identityProviders or []):
        if not _printable(idp):
            invalid(f"identityProviders.{index}", "must be an idpName: printable ASCII, not blank")
    if request.vendor is not None and not _printable(request.vendor):
        invalid("vendor", "must be printable ASCII, not blank")
    if request.signingFlow == PKISIGNING and not request.vendor:
        invalid("vendor", "is required for the PKISIGNING signing flow (e.g. BUYPASS, SBID, NBID)")
    if request.vendor == NBID and request.language not in NORWEGIAN_LANGUAGES:
        invalid(
            "language",
            f"must be {' or '.join(NORWEGIAN_LANGUAGES)} for vendor {NBID}: Norwegian BankID signs in Norwegian",
        )


def _check_signer(signer: Signer, at: str) -> None:
    fields = (
        ("email", EMAIL_PATTERN, "must be an e-mail address"),
        ("mobile", MOBILE_PATTERN, "must be a phone number: digits, spaces between, an optional leading +"),
        ("nationalIdentificationNumber", PRINTABLE_PATTERN, "must be printable ASCII, not blank"),
    )
    for name, pattern, reason in fields:
        value = getattr(signer, name)
        if value is not None and not _matches(pattern, value):
            invalid(f"{at}.{name}", reason)
    if signer.verifyIdentity and not signer.nationalIdentificationNumber:
        invalid(
            f"{at}.verifyIdentity", "needs nationalIdentificationNumber, the number the identity must match"
        )


def _matches(pattern: str, value: object) -> bool:
    return (
        isinstance(value, str) and re.fullmatch(pattern, value) is not None
    )  # `$` alone lets a final newline through


def _is_http_url(value: object) -> bool:
    if not _matches(HTTP_URL_PATTERN, value):
        return False
    try:
        urlsplit(value)  # an unbalanced [ or ] (an IPv6 host) is refused here
    except ValueError:
        return False
    return True


def _printable(value: object) -> bool:
    return _matches(PRINTABLE_PATTERN, value)


def invalid(name: str, reason: str) -> None:
    """Refuse the request, naming the field as the API's own validation does."""
    raise InvalidInput(f"{name}: {reason}", invalidParams=[{"name": name, "reason": reason}])
