"""Who signs: the identity a signing step authenticated, checked against the session's `signer`.

With `validations: ["NATIONAL_IDENTIFICATION_NUMBER"]` the authenticated number must be the signer's;
numbers are compared without spaces, dashes, dots and plus signs (the ways people write them) and
case-insensitively (some countries end them with a letter).
"""

from __future__ import annotations

import re
from typing import Any

from local.emulator.problems import ApiProblem, invalid, param
from local.emulator.store import Identity

NIN_VALIDATION = "NATIONAL_IDENTIFICATION_NUMBER"
_SEPARATORS = re.compile(r"[\s\-.+]")


def identity_from(body: Any) -> Identity | None:
    """The identity a scripted signer sends ({name, nationalIdentificationNumber}), or None without one."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise invalid([param("body", "must be an object {name, nationalIdentificationNumber}")])
    name, number = body.get("name"), body.get("nationalIdentificationNumber")
    errors = []
    if not isinstance(name, str) or not name.strip():
        errors.append(param("name", "is required and must be a non-empty string"))
    if number is not None and (not isinstance(number, str) or not number.strip()):
        errors.append(param("nationalIdentificationNumber", "must be a non-empty string"))
    if errors:
        raise invalid(errors)
    return Identity(name.strip(), number.strip() if number else None)


def expected_identity(signer: dict[str, Any] | None, session_id: str) -> Identity:
    """The person the session expects, as a scripted signer without an identity signs."""
    signer = signer or {}
    name = signer.get("email") or signer.get("mobile") or f"Signer of session {session_id}"
    return Identity(name, signer.get("nationalIdentificationNumber"))


def must_match(signer: dict[str, Any] | None, identity: Identity) -> None:
    """Refuse an identity the session's signer validations do not admit."""
    signer = signer or {}
    if NIN_VALIDATION not in signer.get("validations", []):
        return
    given = identity.national_identification_number
    if given is None or _normal(given) != _normal(signer["nationalIdentificationNumber"]):
        raise identity_mismatch()


def identity_mismatch() -> ApiProblem:
    return ApiProblem(
        403,
        "identity_mismatch",
        "Identity mismatch",
        "The signer's national identification number does not match the one the session requires.",
    )


def requires_number(signer: dict[str, Any] | None) -> bool:
    return NIN_VALIDATION in (signer or {}).get("validations", [])


def _normal(number: str) -> str:
    return _SEPARATORS.sub("", number).upper()
