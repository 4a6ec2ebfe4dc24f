"""Validation of signing-session requests: every problem is collected as an invalidParams entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from local.emulator.problems import invalid, param
from local.emulator.values import parse_iso

LANGUAGES = ("da", "de", "en", "fi", "nb", "nn", "sv")
SIGNING_FLOWS = ("AUTHENTICATION_BASED", "PKISIGNING")
ACTIONS = ("SIGN", "VIEW")
PACKAGE_TYPES = ("PADES_CONTAINER",)
REDIRECT_KINDS = ("success", "cancel", "error")
MAX_DUE = timedelta(days=30)

# (collection id, document id) -> reason the pair is unusable, or None when it is fine
DocumentCheck = Callable[[str, str], str | None]


class _Errors:
    def __init__(self) -> None:
        self.params: list[dict[str, str]] = []

    def add(self, name: str, reason: str) -> None:
        self.params.append(param(name, reason))


def validate_sessions(body: Any, check_document: DocumentCheck, now: datetime) -> list[dict[str, Any]]:
    """The requested sessions, normalised with defaults; raises ApiProblem(400) listing every problem."""
    errors = _Errors()
    if not isinstance(body, list):
        raise invalid([param("body", "must be a JSON array of signing sessions")])
    if not body:
        raise invalid([param("body", "must hold at least one signing session")])
    sessions = [_session(item, f"[{i}]", errors, check_document, now) for i, item in enumerate(body)]
    if errors.params:
        raise invalid(errors.params)
    return sessions


def _session(item: Any, at: str, errors: _Errors, check: DocumentCheck, now: datetime) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors.add(at, "must be an object")
        return {}
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.add(f"{at}.title", "is required and must be a non-empty string")
    external = item.get("externalReference")
    if external is not None and not isinstance(external, str):
        errors.add(f"{at}.externalReference", "must be a string")
    return {
        "title": title,
        "documents": _documents(item.get("documents"), f"{at}.documents", errors, check),
        "dueDate": _due_date(item.get("dueDate"), f"{at}.dueDate", errors, now),
        "externalReference": external,
        "signingSetup": _signing_setup(item.get("signingSetup"), f"{at}.signingSetup", errors),
        "packageTo": _enum_list(item.get("packageTo"), f"{at}.packageTo", PACKAGE_TYPES, errors),
        "ui": _ui(item.get("ui"), f"{at}.ui", errors),
        "redirectSettings": _redirects(item.get("redirectSettings"), f"{at}.redirectSettings", errors),
        "subsequentTo": _string_list(item.get("subsequentTo"), f"{at}.subsequentTo", errors),
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


def _signing_setup(value: Any, at: str, errors: _Errors) -> list[dict[str, Any]]:
    if value is None:
        return [{"identityProviders": [], "signingFlow": "AUTHENTICATION_BASED", "additionalParameters": {}}]
    if not isinstance(value, list):
        errors.add(at, "must be an array")
        return []
    setups = []
    for i, setup in enumerate(value):
        where = f"{at}[{i}]"
        if not isinstance(setup, dict):
            errors.add(where, "must be an object")
            continue
        flow = setup.get("signingFlow", "AUTHENTICATION_BASED")
        if flow not in SIGNING_FLOWS:
            errors.add(f"{where}.signingFlow", f"must be one of {', '.join(SIGNING_FLOWS)}")
        providers = setup.get("identityProviders", [])
        if not isinstance(providers, list) or not all(
            isinstance(p, dict) and isinstance(p.get("idpName"), str) for p in providers
        ):
            errors.add(f"{where}.identityProviders", "must be an array of objects with an idpName")
        extra = setup.get("additionalParameters", {})
        if not isinstance(extra, dict):
            errors.add(f"{where}.additionalParameters", "must be an object")
        setups.append(
            {**setup, "signingFlow": flow, "identityProviders": providers, "additionalParameters": extra}
        )
    return setups


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
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(at, "must be an array of strings")
        return []
    return list(value)


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
        errors.add(at, "must be an object")
        return None
    for kind in REDIRECT_KINDS:
        url = value.get(kind)
        if url is not None and not _is_http_url(url):
            errors.add(f"{at}.{kind}", "must be an absolute http(s) URL")
    return {kind: value[kind] for kind in REDIRECT_KINDS if value.get(kind) is not None}


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
