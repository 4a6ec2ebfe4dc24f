"""In-memory state: access tokens, documents, document collections and signing sessions, and their retention.

Retention as Signicat documents it: an uploaded document no session uses is deleted after `document_ttl`;
once sessions use it, it lives until the latest of their due dates, and goes with the last of them. A
session past its due date is gone, as a deleted one is; the documents it produced (raw signatures, its own
package) go with it.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Document:
    id: str
    content: bytes
    mime_type: str
    created_at: datetime
    expires_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    holders: set[str] = field(default_factory=set)  # sessions using or owning it: it lives while they do


@dataclass
class Collection:
    id: str
    documents: list[dict[str, str]]  # [{documentId, description?}] as requested
    package_to: list[str]
    packages: list[dict[str, str]] = field(default_factory=list)

    @property
    def document_ids(self) -> list[str]:
        return [d["documentId"] for d in self.documents]

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "documents": copy.deepcopy(self.documents),
            "packageTo": list(self.package_to),
            "output": {"packages": copy.deepcopy(self.packages)},
        }


@dataclass(frozen=True)
class Identity:
    """Who signed, as the signing step authenticated them."""

    name: str
    national_identification_number: str | None = None


@dataclass
class Session:
    wire: dict[str, Any]  # the session exactly as the API answers it
    created_at: datetime
    due: datetime  # its dueDate: past it, the session is gone
    collection_ids: list[str] = field(default_factory=list)
    signed_by: Identity | None = None
    signed_order: int = 0  # the order signatures were given in, across all sessions

    @property
    def id(self) -> str:
        return self.wire["id"]

    @property
    def state(self) -> str:
        return self.wire["lifecycle"]["state"]

    def document_ids(self, collection_id: str | None = None, action: str | None = None) -> list[str]:
        return [
            d["documentId"]
            for d in self.wire["documents"]
            if (collection_id is None or d["documentCollectionId"] == collection_id)
            and (action is None or d["action"] == action)
        ]


class Store:
    """All state behind one lock; readers get deep copies of wire data."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, datetime] = {}
        self.documents: dict[str, Document] = {}
        self.collections: dict[str, Collection] = {}
        self.sessions: dict[str, Session] = {}

    # --- documents

    def document(self, document_id: str, now: datetime) -> Document | None:
        """The document, or None when it never existed or has expired (then it is deleted)."""
        with self.lock:
            self._expire_sessions(now)
            doc = self.documents.get(document_id)
            if doc is not None and doc.expires_at <= now:
                del self.documents[document_id]
                return None
            return doc

    def add_document(self, doc: Document, holder: Session | None = None) -> None:
        with self.lock:
            self.documents[doc.id] = doc
            if holder is not None:
                self._hold(doc, holder)

    def delete_document(self, document_id: str) -> bool:
        with self.lock:
            return self.documents.pop(document_id, None) is not None

    # --- sessions

    def add_session(self, session: Session) -> None:
        with self.lock:
            self.sessions[session.id] = session
            for document_id in session.document_ids():
                doc = self.documents.get(document_id)
                if doc is not None:
                    self._hold(doc, session)

    def session(self, session_id: str, now: datetime) -> Session | None:
        """The live session, or None when it never existed, was deleted or is past its due date."""
        with self.lock:
            self._expire_sessions(now)
            return self.sessions.get(session_id)

    def session_wire(self, session_id: str, now: datetime) -> dict[str, Any] | None:
        with self.lock:
            session = self.session(session_id, now)
            return copy.deepcopy(session.wire) if session else None

    def live_sessions(self, now: datetime) -> list[Session]:
        with self.lock:
            self._expire_sessions(now)
            return list(self.sessions.values())

    def remove_session(self, session_id: str) -> Session | None:
        """Delete the session and every document only it kept alive."""
        with self.lock:
            session = self.sessions.pop(session_id, None)
            if session is None:
                return None
            for doc in [d for d in self.documents.values() if session_id in d.holders]:
                doc.holders.discard(session_id)
                if not doc.holders:
                    del self.documents[doc.id]
                else:
                    doc.expires_at = max(self.sessions[h].due for h in doc.holders)
            return session

    def sessions_of_collection(self, collection_id: str, now: datetime) -> list[Session]:
        with self.lock:
            return [s for s in self.live_sessions(now) if collection_id in s.collection_ids]

    # --- collections

    def collection(self, collection_id: str) -> Collection | None:
        with self.lock:
            return self.collections.get(collection_id)

    def remove_collection(self, collection_id: str) -> Collection | None:
        with self.lock:
            collection = self.collections.pop(collection_id, None)
            for package in collection.packages if collection else []:
                self.documents.pop(package["resultDocumentId"], None)
            return collection

    # --- retention

    def _hold(self, doc: Document, session: Session) -> None:
        # The first session decides how long the document is kept; later ones can only extend it.
        doc.expires_at = max(doc.expires_at, session.due) if doc.holders else session.due
        doc.holders.add(session.id)

    def _expire_sessions(self, now: datetime) -> None:
        for session in [s for s in self.sessions.values() if s.due <= now]:
            self.remove_session(session.id)
