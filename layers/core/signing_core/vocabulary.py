"""The product's words, each defined once: languages, document types, signing flows and signing states.

`Literal` types for the API's schemas (functions/api/schemas.py), tuples derived from them for the core's
checks, so a word added here is accepted everywhere at once.
"""

from __future__ import annotations

from typing import Literal, get_args

Language = Literal["da", "de", "en", "fi", "nb", "nn", "sv"]
LANGUAGES: tuple[str, ...] = get_args(Language)

ContentType = Literal["application/pdf", "text/plain"]
CONTENT_TYPES: tuple[str, ...] = get_args(ContentType)
PDF, PLAIN_TEXT = CONTENT_TYPES

SigningFlow = Literal["AUTHENTICATION_BASED", "PKISIGNING"]
SIGNING_FLOWS: tuple[str, ...] = get_args(SigningFlow)
AUTHENTICATION_BASED, PKISIGNING = SIGNING_FLOWS

# STARTING: a large start accepted (202), its documents still on their way to Signicat (no sessions yet).
State = Literal[
    "STARTING", "AWAITING_SIGNATURE", "SIGNED", "COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"
]
STATES: tuple[str, ...] = get_args(State)
STARTING, AWAITING_SIGNATURE, SIGNED, COMPLETED, FAILED, REJECTED, EXPIRED, CANCELLED = STATES
FINAL_STATES = frozenset({COMPLETED, FAILED, REJECTED, EXPIRED, CANCELLED})

SigningOrder = Literal["parallel", "sequential"]
SIGNING_ORDERS: tuple[str, ...] = get_args(SigningOrder)
PARALLEL, SEQUENTIAL = SIGNING_ORDERS

# Shapes Signicat refuses otherwise, as patterns both the API's schema and the core's checks use. Written out in
# printable ASCII: `\s` and `\w` mean other things in Python, in pydantic's regex engine and in JSON Schema.
EMAIL_PATTERN = r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"  # one @ between non-blank ASCII, a dot after it
MOBILE_PATTERN = r"^\+?[0-9][0-9 ]{5,19}$"  # digits (spaces between), an optional leading +
PRINTABLE_PATTERN = r"^[ -~]*[!-~][ -~]*$"  # printable ASCII, not blank (identity numbers, names of things)
HTTP_URL_PATTERN = r'^https?://[!"$-.0->@-~]+[!-~]*$'  # absolute http(s) with a host, no blanks
# Norwegian BankID's PKI signing (vendor NBID) is offered only in a Norwegian user interface.
NBID = "NBID"
NORWEGIAN_LANGUAGES: tuple[str, ...] = ("nb", "nn")
