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

State = Literal["AWAITING_SIGNATURE", "SIGNED", "COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"]
STATES: tuple[str, ...] = get_args(State)
AWAITING_SIGNATURE, SIGNED, COMPLETED, FAILED, REJECTED, EXPIRED, CANCELLED = STATES
FINAL_STATES = frozenset({COMPLETED, FAILED, REJECTED, EXPIRED, CANCELLED})
