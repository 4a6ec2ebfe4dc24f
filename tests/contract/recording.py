"""Everything a target answered, seen from one `requests` response hook: the calls made, the shape of every
JSON answer, and a ledger of what was created and deleted. Whatever made the call (the product's client or a
raw request), nothing the suite creates escapes the ledger, so the cleanup can delete it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from tests.contract.shapes import Shape, merge, shape_of

# The order a cleanup deletes in: a session holds documents, a collection lists them.
SESSIONS, COLLECTIONS, DOCUMENTS = "signing-sessions", "document-collections", "documents"
KINDS = (SESSIONS, COLLECTIONS, DOCUMENTS)
REPORT_NAMES = {SESSIONS: "sessions", COLLECTIONS: "collections", DOCUMENTS: "documents"}


@dataclass
class Ledger:
    created: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    deleted: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})
    gone: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})

    def pending(self, kind: str) -> list[str]:
        """What was created and is neither deleted nor known gone, newest first (a session that follows
        another is deleted before the one it follows)."""
        done = self.deleted[kind] | self.gone[kind]
        return [ident for ident in reversed(self.created[kind]) if ident not in done]

    def counts(self) -> dict[str, dict[str, Any]]:
        summary = {}
        for kind in KINDS:
            ours = set(self.created[kind])
            deleted = self.deleted[kind] & ours
            summary[REPORT_NAMES[kind]] = {
                "created": len(self.created[kind]),
                "deleted": len(deleted),
                "alreadyGone": len((self.gone[kind] & ours) - deleted),
                "left": sorted(self.pending(kind)),
            }
        return summary


class Recorder:
    """Attach `hook` to a requests.Session's response hooks; it never changes the response."""

    def __init__(self, api_url: str, token_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.calls: Counter[str] = Counter()
        self.shapes: dict[str, Shape] = {}
        self.ledger = Ledger()

    def session(self) -> requests.Session:
        """A new HTTP session whose every answer is recorded."""
        http = requests.Session()
        http.hooks["response"].append(self.hook)
        return http

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
        method = response.request.method or ""
        route = self._route(response.request.url or "")
        if route is None:
            return response
        template, kind, ident = route
        self.calls[f"{method} {template}"] += 1
        body = _json(response)
        if body is not None:
            key = f"{method} {template} {response.status_code // 100}xx"
            merge(self.shapes.setdefault(key, {}), shape_of(body))
        if kind in KINDS:
            self._account(method, kind, ident, response, body)
        return response

    def _route(self, url: str) -> tuple[str, str | None, str | None] | None:
        """(template, resource kind, id) of an API or token URL; None for anything else."""
        path = urlsplit(url)._replace(query="", fragment="").geturl()
        if path == self.token_url:
            return "token", None, None
        if not path.startswith(self.api_url + "/"):
            return None
        segments = path[len(self.api_url) + 1 :].split("/")
        kind, ident = segments[0], unquote(segments[1]) if len(segments) > 1 else None
        template = "/" + "/".join([kind, *(["{id}"] if ident is not None else []), *segments[2:]])
        return template, kind, ident

    def _account(
        self, method: str, kind: str, ident: str | None, response: requests.Response, body: Any
    ) -> None:
        if method == "POST" and ident is None and response.ok:
            self.ledger.created[kind].extend(_created_ids(kind, body))
        elif method == "DELETE" and ident is not None:
            if response.ok:
                self.ledger.deleted[kind].add(ident)
            elif response.status_code == 404:
                self.ledger.gone[kind].add(ident)


def _created_ids(kind: str, body: Any) -> list[str]:
    items = body if isinstance(body, list) else [body]
    name = "documentId" if kind == DOCUMENTS else "id"
    return [item[name] for item in items if isinstance(item, dict) and isinstance(item.get(name), str)]


def _json(response: requests.Response) -> Any:
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None
