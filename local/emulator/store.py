"""In-memory state: access tokens, documents, document collections and signing sessions."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SESSION_RETENTION = timedelta(days=45)  # documents in a session are kept this long


@dataclass
class Document:
    id: str
    content: bytes
    mime_type: str
    created_at: datetime
    expires_at: datetime


@dataclass
class Collection:
    id: str
    document_ids: list[str]


@dataclass
class Session:
    wire: dict[str, Any]  # the session exactly as the API answers it
    created_at: datetime
    collection_ids: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.wire["id"]

    @property
    def state(self) -> str:
        return self.wire["lifecycle"]["state"]


class Store:
    """All state behind one lock; readers get deep copies of wire data."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, datetime] = {}
        self.documents: dict[str, Document] = {}
        self.collections: dict[str, Collection] = {}
        self.sessions: dict[str, Session] = {}

    def document(self, document_id: str, now: datetime) -> Document | None:
        """The document, or None when it never existed or has expired (then it is deleted)."""
        with self.lock:
            doc = self.documents.get(document_id)
            if doc is not None and doc.expires_at <= now:
                del self.documents[document_id]
                return None
            return doc

    def retain_for_session(self, document_ids: list[str], now: datetime) -> None:
        with self.lock:
            for document_id in document_ids:
                doc = self.documents.get(document_id)
                if doc is not None:
                    doc.expires_at = max(doc.expires_at, now + SESSION_RETENTION)

    def session_wire(self, session_id: str) -> dict[str, Any] | None:
        with self.lock:
            session = self.sessions.get(session_id)
            return copy.deepcopy(session.wire) if session else None

    def sessions_of_collection(self, collection_id: str) -> list[Session]:
        with self.lock:
            return [s for s in self.sessions.values() if collection_id in s.collection_ids]
