"""The API's request and answer shapes. The OpenAPI document (docs/openapi.json) is generated from them."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from signing_core.vocabulary import (
    AUTHENTICATION_BASED,
    EMAIL_PATTERN,
    HTTP_URL_PATTERN,
    MOBILE_PATTERN,
    PARALLEL,
    PDF,
    PRINTABLE_PATTERN,
    ContentType,
    Language,
    SigningFlow,
    SigningOrder,
    State,
)

# What base64.b64decode(validate=True) accepts: whole quads, padding only at the end.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _strict_base64(value: Any) -> bytes:
    # pydantic's Base64Bytes forgives stray characters; a document must decode exactly.
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


Base64Content = Annotated[
    bytes,
    PlainValidator(_strict_base64),
    PlainSerializer(lambda content: base64.b64encode(content).decode(), when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64",
            "pattern": BASE64_PATTERN,
            "description": "The document, base64-encoded",
        }
    ),
]


class Model(BaseModel):
    # Validators are built on first use, not at import: a cold start pays only for the models it uses.
    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)


def _exactly_one_source(schema: dict[str, Any]) -> None:
    """The document says what the validators enforce: content or uploadId, exactly one, never null."""
    properties = schema["properties"]
    for name in ("content", "uploadId"):
        field = properties[name]
        (given,) = [option for option in field.pop("anyOf") if option.get("type") != "null"]
        field.pop("default", None)
        properties[name] = {**given, **field}
    schema["oneOf"] = [{"required": ["content"]}, {"required": ["uploadId"]}]


class DocumentIn(Strict):
    """Exactly one of: the document inline (`content`, base64) or a document PUT to an upload URL (`uploadId`)."""

    model_config = ConfigDict(extra="forbid", defer_build=True, json_schema_extra=_exactly_one_source)

    filename: str = Field(min_length=1, max_length=255, examples=["contract.pdf"])
    contentType: ContentType = PDF
    content: Base64Content | None = None
    uploadId: str | None = Field(None, min_length=1, max_length=64)

    @field_validator("content", "uploadId", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null: leave it out")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DocumentIn:
        if (self.content is None) == (self.uploadId is None):
            raise ValueError("give either content or uploadId")
        return self


class UploadIn(Strict):
    filename: str = Field(min_length=1, max_length=255, examples=["large-contract.pdf"])
    contentType: ContentType = PDF


class UploadOut(Model):
    uploadId: str
    uploadUrl: str
    method: Literal["PUT"]
    headers: dict[str, str]
    maxBytes: int
    expiresAt: str
    filename: str


class SignerIn(Strict):
    """Who is expected to sign. Without a national identity number, anyone holding the signature URL can sign."""

    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=254)
    mobile: str | None = Field(None, pattern=MOBILE_PATTERN)
    nationalIdentificationNumber: str | None = Field(
        None,
        pattern=PRINTABLE_PATTERN,
        max_length=64,
        description="Only the person Signicat authenticates with this number may sign (see verifyIdentity)",
    )
    verifyIdentity: bool | None = Field(
        None,
        description="Whether the signer's authenticated identity must match nationalIdentificationNumber: "
        "default true when a number is given; true without a number is refused",
    )


URL = Field(None, pattern=HTTP_URL_PATTERN, max_length=2048)


class RedirectSettingsIn(Strict):
    """Where the signer lands afterwards. Signicat needs all three: a missing one is the first given of success,
    cancel, error with `outcome=<the missing kind>` added to its query."""

    success: str | None = URL
    cancel: str | None = URL
    error: str | None = URL


class StartSigningIn(Strict):
    title: str = Field(min_length=1, max_length=255, examples=["Rental agreement between X and Y"])
    externalReference: str | None = Field(None, min_length=1, max_length=255)
    documents: list[DocumentIn] = Field(min_length=1, max_length=20)
    signers: list[SignerIn] = Field(default_factory=lambda: [SignerIn()], min_length=1, max_length=20)
    signingOrder: SigningOrder = Field(
        PARALLEL,
        description="parallel: every signer may sign at once; sequential: in the order of signers, each "
        "session BLOCKED until the one before is signed",
    )
    identityProviders: list[Annotated[str, Field(pattern=PRINTABLE_PATTERN, max_length=64)]] | None = Field(
        None, max_length=20
    )
    signingFlow: SigningFlow = AUTHENTICATION_BASED
    vendor: str | None = Field(
        None,
        pattern=PRINTABLE_PATTERN,
        max_length=64,
        examples=["BUYPASS"],
        description="The PKI vendor: required for PKISIGNING (e.g. BUYPASS, SBID, NBID; NBID only with language "
        "nb or nn)",
    )
    language: Language | None = None
    redirectSettings: RedirectSettingsIn | None = None
    dueDate: AwareDatetime | None = Field(None, description="At most 30 days ahead")
    senderDisplayName: str | None = Field(
        None, min_length=1, max_length=255, description="Shown to the signer; default: the deployment's"
    )
    signText: str | None = Field(None, min_length=1, max_length=2000, description="Shown to the signer")


class SignerOut(Model):
    email: str | None = None
    mobile: str | None = None
    nationalIdentificationNumber: str | None = Field(None, description="Masked: only its last 4 characters")
    verifyIdentity: bool


class SessionOut(Model):
    sessionId: str
    signatureUrl: str
    state: str = Field(
        description="As Signicat reported it: READY, BLOCKED (waits for the signer before), SIGNED, ..."
    )
    signer: SignerOut | None = None


class SigningCreated(Model):
    signingId: str
    state: State
    externalReference: str
    documentCollectionId: str | None = Field(None, description="Absent while STARTING")
    signingOrder: SigningOrder = PARALLEL
    sessions: list[SessionOut] = Field(
        description="One per signer, in the order of signers; none while STARTING (a large start, answered 202: "
        "GET the signing until it is AWAITING_SIGNATURE, or FAILED)"
    )


class SignedDocumentOut(Model):
    bucket: str
    key: str
    sha256: str
    size: int
    downloadUrl: str


class FailureOut(Model):
    code: str
    detail: str


class SignatureOut(Model):
    field: str = Field(description="The PDF signature field")
    name: str | None = Field(None, description="Who signed, as the signature names them")
    certificate: str | None = Field(None, description="The signing certificate's subject")
    signedAt: str | None = Field(None, description="When, as the signer's software reported it")
    intact: bool = Field(description="The bytes it covers are unchanged")
    trusted: bool = Field(description="Its certificate chains to a trust root")
    valid: bool = Field(description="Intact, verified, trusted, and nothing but signatures added after it")
    coverage: str = Field(description="ENTIRE_FILE, ENTIRE_REVISION, ... (pyHanko's coverage levels)")
    modifications: str | None = Field(
        None, description="What later revisions changed: NONE, FORM_FILLING, ..."
    )
    problem: str | None = None


class VerificationOut(Model):
    """The verdict on the stored PAdES, made when it was stored under signed/."""

    signatures: int
    expectedSignatures: int = Field(description="The signing's signers")
    intact: bool
    valid: bool = Field(description="As many signatures as signers, each valid, the last covering the file")
    coversWholeDocument: bool
    signers: list[SignatureOut]
    problems: list[str]
    versionId: str | None = Field(None, description="The S3 object version verified")
    verifiedAt: str


class SigningOut(SigningCreated):
    title: str
    createdAt: str
    updatedAt: str
    signedDocument: SignedDocumentOut | None = None
    failure: FailureOut | None = None
    verification: VerificationOut | None = None


class SigningSummary(Model):
    signingId: str
    title: str
    state: State
    externalReference: str
    createdAt: str
    updatedAt: str


class SigningList(Model):
    signings: list[SigningSummary] = Field(description="Newest first")
    nextCursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; absent after the last"
    )


class InvalidParam(Model):
    name: str
    reason: str


class Problem(Model):
    """RFC 7807 application/problem+json."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | None = None
    traceId: str | None = None
    invalidParams: list[InvalidParam] | None = None
