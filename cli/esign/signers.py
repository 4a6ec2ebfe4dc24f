"""A signer on the command line: an e-mail, a +phone number, or nin:<number>, combined with commas."""

from __future__ import annotations

from typing import Any


class SignerSpecError(ValueError):
    pass


def parse(spec: str) -> dict[str, Any]:
    """`ada@example.com,+4791234567,nin:01017012345` → the API's signer (each kind at most once)."""
    signer: dict[str, Any] = {}
    for part in (p.strip() for p in spec.split(",")):
        if part.startswith("nin:") and len(part) > 4:
            kind, value = "nationalIdentificationNumber", part[4:]
        elif part.startswith("+") and part[1:].isdigit():
            kind, value = "mobile", part
        elif "@" in part.strip("@"):
            kind, value = "email", part
        else:
            raise SignerSpecError(f"{part!r} is neither an e-mail, a +phone number nor nin:<number>")
        if kind in signer:
            raise SignerSpecError(f"{spec!r} names two of the same kind ({part!r})")
        signer[kind] = value
    return signer


def describe(signer: dict[str, Any] | None) -> str:
    """A signer as one short line (the identity number is masked by the API already)."""
    if not signer:
        return "anyone with the link"
    parts = [signer.get("email"), signer.get("mobile")]
    if signer.get("nationalIdentificationNumber"):
        parts.append(f"nin {signer['nationalIdentificationNumber']}")
    return ", ".join(p for p in parts if p) or "anyone with the link"
