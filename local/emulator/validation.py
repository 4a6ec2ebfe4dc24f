"""Validation of request bodies, field by field as signicat-facts.md lists them: every problem is collected
as an invalidParams entry named by its path (`[0].signingSetup[0].vendor`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from local.emulator.identity import NIN_VALIDATION
from local.emulator.problems import invalid, param
from local.emulator.values import parse_iso

LANGUAGES = ("da", "de", "en", "fi", "nb", "nn", "sv")
NORWEGIAN = ("nb", "nn")
SIGNING_FLOWS = ("AUTHENTICATION_BASED", "PKISIGNING")
ACTIONS = ("SIGN", "VIEW")
PACKAGE_TYPES = ("PADES_CONTAINER",)
REDIRECT_KINDS = ("success", "cancel", "error")
VALIDATIONS = (NIN_VALIDATION,)
MAX_DUE = timedelta(days=30)
_MOBILE = re.compile(r"^\+?[0-9][0-9 ]{5,19}$")

# (collection id, document id) -> reason the pair is unusable, or None when it is fine
DocumentCheck = Callable[[str, str], str | None]


class _Errors:
    def __init__(self) -> None:
        self.params: list[dict[str, str]] = []

    def add(self, name: str, reason: str) -> None:
        self.params.append(param(name, reason))

    def raise_any(self) -> None:
        if self.params:
            raise invalid(self.params)


# --- signing sessions


def validate_sessions(body: Any, check_document: DocumentCheck, now: datetime) -> list[dict[str, Any]]:
    """The requested sessions, normalised with defaults; raises ApiProblem(400) listing every problem."""
    errors = _Errors()
    if not isinstance(body, list):
        raise invalid([param("body", "must be a JSON array of signing sessions")])
    if not body:
        raise invalid([param("body", "must hold at least one signing session")])
    sessions = [_session(item, f"[{i}]", errors, check_document, now) for i, item in enumerate(body)]
    errors.raise_any()
    return sessions


def _session(item: Any, at: str, errors: _Errors, check: DocumentCheck, now: datetime) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors.add(at, "must be an object")
        return {}
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.add(f"{at}.title", "is required and must be a non-empty string")
    ui = _ui(item.get("ui"), f"{at}.ui", errors)
    return {
        "title": title,
        "documents": _documents(item.get("documents"), f"{at}.documents", errors, check),
        "dueDate": _due_date(item.get("dueDate"), f"{at}.dueDate", errors, now),
        "signingSetup": _signing_setup(item.get("signingSetup"), f"{at}.signingSetup", ui, errors),
        "signer": _signer(item.get("signer"), f"{at}.signer", errors),
        "packageTo": _enum_list(item.get("packageTo"), f"{at}.packageTo", PACKAGE_TYPES, errors),
        "ui": ui,
        "redirectSettings": _redirects(item.get("redirectSettings"), f"{at}.redirectSettings", errors),
        "subsequentTo": _string_list(item.get("subsequentTo"), f"{at}.subsequentTo", errors),
        "preAuthentication": _pre_authentication(
            item.get("preAuthentication"), f"{at}.preAuthentication", errors
        ),
        **{
            name: _optional_string(item.get(name), f"{at}.{name}", errors)
            for name in ("externalReference", "senderDisplayName", "signText")
        },
    }


def _documents(value: Any, at: str, errors: _Errors, check: DocumentCheck) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        errors.add(at, "is required and must be a non-empty array")
        return []
    documents = []
    for i, doc in enumerate(value):
        where = f"{at}[{i}]"
        if not isinstance(doc, dict):
            errors.add(where, "must be an object")
            continue
        ids = {}
        for name in ("documentCollectionId", "documentId"):
            ids[name] = doc.get(name)
            if not isinstance(ids[name], str) or not ids[name]:
                errors.add(f"{where}.{name}", "is required")
        action = doc.get("action")
        if action not in ACTIONS:
            errors.add(f"{where}.action", f"is required and must be one of {', '.join(ACTIONS)}")
        if all(isinstance(v, str) and v for v in ids.values()):
            reason = check(ids["documentCollectionId"], ids["documentId"])
            if reason:
                errors.add(f"{where}.documentId", reason)
        documents.append({"documentCollectionId": ids["documentCollectionId"], "action": action, **ids})
    return documents


def _due_date(value: Any, at: str, errors: _Errors, now: datetime) -> datetime:
    if value is None:
        return now + MAX_DUE
    try:
        due = parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        due = None
    if due is None:
        errors.add(at, "must be an ISO 8601 date-time with a time zone")
    elif due <= now:
        errors.add(at, "must be in the future")
    elif due > now + MAX_DUE:
        errors.add(at, "must be at most 30 days ahead")
    else:
        return due
    return now + MAX_DUE


def _signing_setup(value: Any, at: str, ui: dict[str, Any], errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        errors.add(at, "is required and must be a non-empty array")
        return []
    setups = []
    for i, setup in enumerate(value):
        where = f"{at}[{i}]"
        if not isinstance(setup, dict):
            errors.add(where, "must be an object")
            continue
        flow = setup.get("signingFlow")
        if flow not in SIGNING_FLOWS:
            errors.add(f"{where}.signingFlow", f"is required and must be one of {', '.join(SIGNING_FLOWS)}")
        vendor = setup.get("vendor")
        if vendor is not None and (not isinstance(vendor, str) or not vendor):
            errors.add(f"{where}.vendor", "must be a non-empty string")
        elif flow == "PKISIGNING" and vendor is None:
            errors.add(
                f"{where}.vendor", "is required for the PKISIGNING signing flow (e.g. BUYPASS, SBID, NBID)"
            )
        elif vendor == "NBID" and ui["language"] not in NORWEGIAN:
            errors.add(
                f"{where}.vendor", "NBID (Norwegian BankID PKI) needs a Norwegian ui.language (nb or nn)"
            )
        providers = setup.get("identityProviders", [])
        if not isinstance(providers, list) or not all(
            isinstance(p, dict) and isinstance(p.get("idpName"), str) and p["idpName"] for p in providers
        ):
            errors.add(f"{where}.identityProviders", "must be an array of objects with an idpName")
        setups.append(
            {
                **setup,
                "identityProviders": providers,
                "signingFlow": flow,
                "additionalParameters": _string_map(
                    setup.get("additionalParameters"), f"{where}.additionalParameters", errors
                ),
            }
        )
    return setups


def _string_map(value: Any, at: str, errors: _Errors) -> dict[str, str]:
    """Identity-provider settings: a map of strings to strings."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(at, "must be an object mapping names to strings")
        return {}
    for key, item in value.items():
        if not isinstance(item, str):
            errors.add(f"{at}.{key}", "must be a string")
    return dict(value)


def _signer(value: Any, at: str, errors: _Errors) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(at, "must be an object")
        return None
    signer: dict[str, Any] = {}
    email = value.get("email")
    if email is not None:
        if not isinstance(email, str) or "@" not in email.strip(" @"):
            errors.add(f"{at}.email", "must be an e-mail address")
        signer["email"] = email
    mobile = value.get("mobile")
    if mobile is not None:
        if not isinstance(mobile, str) or not _MOBILE.match(mobile):
            errors.add(f"{at}.mobile", "must be a phone number (digits, an optional leading +)")
        signer["mobile"] = mobile
    number = value.get("nationalIdentificationNumber")
    if number is not None:
        if not isinstance(number, str) or not number.strip():
            errors.add(f"{at}.nationalIdentificationNumber", "must be a non-empty string")
        signer["nationalIdentificationNumber"] = number
    validations = value.get("validations")
    if validations is not None:
        if not isinstance(validations, list) or any(v not in VALIDATIONS for v in validations):
            errors.add(f"{at}.validations", f"must be an array of {', '.join(VALIDATIONS)}")
        elif NIN_VALIDATION in validations and number is None:
            errors.add(
                f"{at}.nationalIdentificationNumber",
                f"is required when validations holds {NIN_VALIDATION}",
            )
        signer["validations"] = validations
    return signer


def _enum_list(value: Any, at: str, allowed: tuple[str, ...], errors: _Errors) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or any(v not in allowed for v in value):
        errors.add(at, f"must be an array of {', '.join(allowed)}")
        return []
    return list(value)


def _string_list(value: Any, at: str, errors: _Errors) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.add(at, "must be an array of strings")
        return []
    return list(value)


def _optional_string(value: Any, at: str, errors: _Errors) -> str | None:
    if value is not None and not isinstance(value, str):
        errors.add(at, "must be a string")
        return None
    return value


def _pre_authentication(value: Any, at: str, errors: _Errors) -> dict[str, bool] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("enabled"), bool):
        errors.add(at, "must be an object {enabled: true|false}")
        return None
    return {"enabled": value["enabled"]}


def _ui(value: Any, at: str, errors: _Errors) -> dict[str, Any]:
    if value is None:
        return {"language": "en"}
    if not isinstance(value, dict):
        errors.add(at, "must be an object")
        return {"language": "en"}
    language = value.get("language", "en")
    if language not in LANGUAGES:
        errors.add(f"{at}.language", f"must be one of {', '.join(LANGUAGES)}")
    return {**value, "language": language}


def _redirects(value: Any, at: str, errors: _Errors) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(at, "must be an object {success, cancel, error}")
        return None
    for kind in REDIRECT_KINDS:
        url = value.get(kind)
        if url is None:
            errors.add(
                f"{at}.{kind}", "is required when redirectSettings is given (success, cancel and error)"
            )
        elif not _is_http_url(url):
            errors.add(f"{at}.{kind}", "must be an absolute http(s) URL")
    return {kind: value[kind] for kind in REDIRECT_KINDS if value.get(kind) is not None}


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- document collections and metadata


def validate_collection(body: Any, document_known: Callable[[str], bool]) -> dict[str, Any]:
    """{documents: [{documentId, description?}], packageTo?}, normalised."""
    errors = _Errors()
    if not isinstance(body, dict):
        raise invalid([param("body", "must be a JSON object")])
    documents = body.get("documents")
    if not isinstance(documents, list) or not documents:
        raise invalid([param("documents", "is required and must be a non-empty array")])
    normalised = []
    for i, doc in enumerate(documents):
        where = f"documents[{i}]"
        document_id = doc.get("documentId") if isinstance(doc, dict) else None
        if not isinstance(document_id, str) or not document_known(document_id):
            errors.add(f"{where}.documentId", "unknown or expired document")
            continue
        entry = {"documentId": document_id}
        description = _optional_string(doc.get("description"), f"{where}.description", errors)
        if description is not None:
            entry["description"] = description
        normalised.append(entry)
    package_to = _enum_list(body.get("packageTo"), "packageTo", PACKAGE_TYPES, errors)
    errors.raise_any()
    return {"documents": normalised, "packageTo": package_to}


def validate_metadata(body: Any) -> dict[str, str]:
    errors = _Errors()
    if not isinstance(body, dict):
        raise invalid([param("body", "must be a JSON object of metadata fields")])
    for key, value in body.items():
        if not isinstance(value, str):
            errors.add(key, "must be a string")
    errors.raise_any()
    return dict(body)
