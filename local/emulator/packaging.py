"""Packaging, as asked and no more:

- a session's `packageTo` packages *that* session once *it* is signed: its documents in one PAdES with its
  own signature, in the session's `output.packages`, announced by the session's event;
- a collection's `packageTo` packages the collection once *every* live session referencing its documents is
  signed: its documents in one PAdES with one signature per signer (added incrementally, in signing order),
  in the collection's `output.packages`, announced in the configured `collection_event_shape`.
Nothing asked, nothing packaged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from local.emulator.config import EmulatorConfig
from local.emulator.events import PACKAGE_COMPLETED, PACKAGE_FAILED, collection_events, session_event
from local.emulator.faults import FaultInjector, Stats
from local.emulator.pades import TestCA, build_package
from local.emulator.scheduler import Scheduler
from local.emulator.store import Collection, Document, Session, Store
from local.emulator.values import new_id

log = logging.getLogger(__name__)

SIGNED = "SIGNED"
PADES = "PADES_CONTAINER"
REJECTED_BY_SIGNER = "REJECTED_BY_SIGNER"  # package.failed reasons
PACKAGING_FAILED = "PACKAGING_FAILED"


class Packager:
    def __init__(
        self,
        config: EmulatorConfig,
        store: Store,
        ca: TestCA,
        injector: FaultInjector,
        stats: Stats,
        publish: Callable[[dict[str, Any]], None],
    ) -> None:
        self._config, self._store, self._ca = config, store, ca
        self._injector, self._stats, self._publish = injector, stats, publish
        self._scheduler = Scheduler("emulator-packaging")
        self._claimed: set[str] = set()  # collections scheduled for packaging: each is packaged once

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    def stop(self) -> None:
        self._scheduler.stop()

    # --- what the signer's actions start

    def session_signed(self, session: Session) -> None:
        if PADES in session.wire["packageTo"]:
            self._later(lambda: self._package_session(session.id))
        for collection_id in session.collection_ids:
            if self._claim(collection_id):
                self._later(lambda c=collection_id: self._package_collection(c))

    def session_rejected(self, session: Session) -> None:
        """A rejected session can no longer be packaged, nor can a collection waiting for it."""
        now = self._config.clock()
        if PADES in session.wire["packageTo"]:
            self._publish(
                session_event(self._config, PACKAGE_FAILED, session.wire, now, reason=REJECTED_BY_SIGNER)
            )
        for collection_id in session.collection_ids:
            with self._store.lock:
                collection = self._store.collection(collection_id)
                if collection is None or PADES not in collection.package_to or collection_id in self._claimed:
                    continue
                self._claimed.add(collection_id)
            self._fail_collection(collection, REJECTED_BY_SIGNER)

    # --- sessions

    def _package_session(self, session_id: str) -> None:
        now = self._config.clock()
        with self._store.lock:
            session = self._store.session(session_id, now)
            if session is None:  # deleted or expired meanwhile
                return
            ids = session.document_ids(action="SIGN") or session.document_ids()
            documents = [self._store.documents.get(d) for d in ids]
            names = [session.signed_by.name] if session.signed_by else []
        pades = self._build(documents, names, f"session {session_id}")
        if pades is None:
            self._publish(
                session_event(self._config, PACKAGE_FAILED, session.wire, now, reason=PACKAGING_FAILED)
            )
            return
        with self._store.lock:
            if self._store.session(session_id, now) is None:
                return
            result = Document(new_id(), pades, "application/pdf", now, session.due)
            self._store.add_document(result, holder=session)
            session.wire["output"]["packages"].append(_package_entry(result))
            wire = dict(session.wire)
        self._publish(session_event(self._config, PACKAGE_COMPLETED, wire, now))

    # --- collections

    def _claim(self, collection_id: str) -> bool:
        """True once, when the collection asks for a package and all its live sessions are signed."""
        with self._store.lock:
            collection = self._store.collection(collection_id)
            if collection is None or PADES not in collection.package_to or collection_id in self._claimed:
                return False
            sessions = self._store.sessions_of_collection(collection_id, self._config.clock())
            if not sessions or any(s.state != SIGNED for s in sessions):
                return False
            self._claimed.add(collection_id)
            return True

    def _package_collection(self, collection_id: str) -> None:
        now = self._config.clock()
        with self._store.lock:
            collection = self._store.collection(collection_id)
            sessions = self._store.sessions_of_collection(collection_id, now)
            if collection is None or not sessions:
                return
            if any(s.state != SIGNED for s in sessions):  # a session was added meanwhile: wait for it
                self._claimed.discard(collection_id)
                return
            sessions.sort(key=lambda s: s.signed_order)
            signers = [s for s in sessions if s.document_ids(collection_id, "SIGN")] or sessions
            documents = [self._store.documents.get(d) for d in collection.document_ids]
            names = [s.signed_by.name for s in signers if s.signed_by]
            wires = [dict(s.wire) for s in sessions]
            keep_until = max(s.due for s in sessions)
        pades = self._build(documents, names, f"collection {collection_id}")
        if pades is None:
            self._fail_collection(collection, PACKAGING_FAILED)
            return
        with self._store.lock:
            if self._store.collection(collection_id) is None:
                return
            result = Document(new_id(), pades, "application/pdf", now, keep_until)
            self._store.add_document(result)
            collection.packages.append(_package_entry(result))
        for event in collection_events(self._config, PACKAGE_COMPLETED, collection_id, wires, now):
            self._publish(event)

    def _fail_collection(self, collection: Collection, reason: str) -> None:
        now = self._config.clock()
        wires = [dict(s.wire) for s in self._store.sessions_of_collection(collection.id, now)]
        for event in collection_events(
            self._config, PACKAGE_FAILED, collection.id, wires, now, reason=reason
        ):
            self._publish(event)

    # --- shared

    def _later(self, task: Callable[[], None]) -> None:
        extra = self._injector.faults.packaging_delay
        if extra > 0:
            self._stats.fault("packaging_delay")
        self._scheduler.call_later(self._config.packaging_delay + extra, task)

    def _build(self, documents: list[Document | None], names: list[str], what: str) -> bytes | None:
        """The PAdES, or None when packaging fails (an injected failure, a document gone)."""
        if self._injector.roll("packaging", "packaging_failure_rate", "packaging_failure"):
            return None
        try:
            if any(doc is None for doc in documents):
                raise LookupError(f"a document of {what} is gone")
            return build_package(
                [(d.content, d.mime_type) for d in documents if d is not None], self._ca.signer, names
            )
        except Exception:
            log.exception("packaging %s failed", what)
            return None


def _package_entry(result: Document) -> dict[str, str]:
    return {"packageId": new_id(), "resultDocumentId": result.id, "packageType": PADES}
