"""What a start asks for: the documents, the signers and the session's setup, with the deployment's defaults,
and each signer's session body as Signicat's Sign API v2 takes it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO

from signing_core.settings import StartSettings
from signing_core.signicat_wire import NIN_VALIDATION, session_body
from signing_core.vocabulary import AUTHENTICATION_BASED, PARALLEL


@dataclass
class Document:
    filename: str
    content_type: str
    content: bytes | Callable[[], BinaryIO]  # inline bytes, or a function that opens a stream when it is sent
    head: bytes  # the first bytes, to check the declared type without reading a stream twice
    size: int
    upload: tuple[str, str | None] | None = None  # an uploaded document's S3 key and the version checked

    def body(self) -> bytes | BinaryIO:
        return self.content() if callable(self.content) else self.content


@dataclass
class Signer:
    """Who is expected to sign one session. With a national identity number, Signicat lets only the person it
    authenticates as that number sign (`verifyIdentity`, on unless turned off); without one, anyone with the link."""

    email: str | None = None
    mobile: str | None = None
    nationalIdentificationNumber: str | None = None
    verifyIdentity: bool | None = None  # None: verified whenever a number is given

    @property
    def verified(self) -> bool:
        return bool(self.nationalIdentificationNumber) and self.verifyIdentity is not False

    def wire(self) -> dict[str, Any]:
        """The session's `signer` object (empty: an anonymous signer, no object sent)."""
        signer: dict[str, Any] = {name: value for name, value in self._contact().items() if value}
        if self.nationalIdentificationNumber:
            signer["nationalIdentificationNumber"] = self.nationalIdentificationNumber
        if self.verified:
            signer["validations"] = [NIN_VALIDATION]
        return signer

    def summary(self) -> dict[str, Any]:
        """What the product keeps and shows: contact details, the number masked to its last 4 characters."""
        summary: dict[str, Any] = {name: value for name, value in self._contact().items() if value}
        if self.nationalIdentificationNumber:
            summary["nationalIdentificationNumber"] = mask(self.nationalIdentificationNumber)
        summary["verifyIdentity"] = self.verified
        return summary

    def _contact(self) -> dict[str, str | None]:
        return {"email": self.email, "mobile": self.mobile}


def mask(number: str) -> str:
    """A national identity number shown only by its last 4 letters or digits (none of a shorter one)."""
    kept = re.sub(r"[^0-9A-Za-z]", "", number)
    shown = kept[-4:] if len(kept) > 4 else ""
    return "*" * (len(kept) - len(shown)) + shown


@dataclass
class SigningRequest:
    title: str
    documents: list[Document]
    signers: list[Signer] = field(default_factory=lambda: [Signer()])
    externalReference: str | None = None
    identityProviders: list[str] | None = None
    signingFlow: str = AUTHENTICATION_BASED
    vendor: str | None = None  # the PKI vendor (BUYPASS, SBID, NBID, ...): required for PKISIGNING
    signingOrder: str = PARALLEL
    language: str | None = None
    redirectSettings: dict[str, str] | None = None
    dueDate: datetime | None = None
    senderDisplayName: str | None = None
    signText: str | None = None
    source: dict[str, Any] | None = None


def with_defaults(request: SigningRequest, settings: StartSettings) -> SigningRequest:
    """The request with the deployment's defaults where it names none."""
    default_idp = settings.default_identity_provider
    return replace(
        request,
        identityProviders=request.identityProviders
        if request.identityProviders is not None
        else ([default_idp] if default_idp else []),
        language=request.language or settings.default_language,
        senderDisplayName=request.senderDisplayName or settings.default_sender_display_name,
    )


def signer_session_body(
    request: SigningRequest,
    signer: Signer,
    external_reference: str,
    collection_id: str,
    document_ids: list[str],
) -> dict[str, Any]:
    return session_body(
        title=request.title,
        external_reference=external_reference,
        collection_id=collection_id,
        document_ids=document_ids,
        signing_flow=request.signingFlow,
        vendor=request.vendor,
        identity_providers=request.identityProviders or [],
        signer=signer.wire(),
        language=request.language,
        redirect_settings=request.redirectSettings,
        due_date=request.dueDate,
        sender_display_name=request.senderDisplayName,
        sign_text=request.signText,
    )
