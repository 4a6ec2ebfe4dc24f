"""Packaging: once every session of a document collection is signed, build its PAdES and announce it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from local.emulator.config import EmulatorConfig
from local.emulator.events import PACKAGE_COMPLETED, PACKAGE_FAILED, envelope
from local.emulator.faults import FaultInjector, Stats
from local.emulator.pades import TestCA, build_package
from local.emulator.scheduler import Scheduler
from local.emulator.store import SESSION_RETENTION, Document, Session, Store
from local.emulator.values import new_id

log = logging.getLogger(__name__)

SIGNED = "SIGNED"
PADES = "PADES_CONTAINER"


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
        self._claimed: set[str] = set()  # collections already scheduled: each is packaged once

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    def stop(self) -> None:
        self._scheduler.stop()

    def session_signed(self, session: Session) -> None:
        """Schedule packaging of each of the session's collections whose sessions are now all signed."""
        for collection_id in session.collection_ids:
            if self._ready(collection_id):
                delay = self._config.packaging_delay + self._extra_delay()
                self._scheduler.call_later(delay, lambda c=collection_id: self._package(c))

    def session_rejected(self, session: dict[str, Any], reason: str) -> None:
        self._publish(envelope(self._config, PACKAGE_FAILED, session, self._config.clock(), reason=reason))

    def _ready(self, collection_id: str) -> bool:
        with self._store.lock:
            sessions = self._store.sessions_of_collection(collection_id)
            wanted = any(PADES in s.wire["packageTo"] for s in sessions)
            if collection_id in self._claimed or not wanted or any(s.state != SIGNED for s in sessions):
                return False
            self._claimed.add(collection_id)
            return True

    def _extra_delay(self) -> float:
        extra = self._injector.faults.packaging_delay
        if extra > 0:
            self._stats.fault("packaging_delay")
        return extra

    def _package(self, collection_id: str) -> None:
        with self._store.lock:
            sessions = [s for s in self._store.sessions_of_collection(collection_id) if s.state == SIGNED]
            collection = self._store.collections[collection_id]
            documents = [self._store.documents.get(d) for d in collection.document_ids]
        if self._injector.roll("packaging", "packaging_failure_rate", "packaging_failure"):
            self._fail(sessions, "PACKAGING_FAILED")
            return
        try:
            if any(doc is None for doc in documents):
                raise LookupError(f"a document of collection {collection_id} is gone")
            pades = build_package(
                [(doc.content, doc.mime_type) for doc in documents if doc is not None],
                self._ca.signer,
                [f"Signer of session {s.id}" for s in sessions],
            )
        except Exception:
            log.exception("packaging collection %s failed", collection_id)
            self._fail(sessions, "PACKAGING_FAILED")
            return
        self._complete(collection_id, sessions, pades)

    def _complete(self, collection_id: str, sessions: list[Session], pades: bytes) -> None:
        now = self._config.clock()
        result = Document(new_id(), pades, "application/pdf", now, now + SESSION_RETENTION)
        package = {"packageId": new_id(), "resultDocumentId": result.id, "packageType": PADES}
        with self._store.lock:
            self._store.documents[result.id] = result
            for session in sessions:
                output = session.wire["output"]
                output["signatures"].extend(
                    {
                        "resultDocumentId": result.id,
                        "originalDocumentId": d["documentId"],
                        "signatureType": "PADES",
                    }
                    for d in session.wire["documents"]
                    if d["documentCollectionId"] == collection_id
                )
                output["packages"].append(dict(package))
            wires = [dict(s.wire) for s in sessions]
        for wire in wires:
            self._publish(envelope(self._config, PACKAGE_COMPLETED, wire, now))

    def _fail(self, sessions: list[Session], reason: str) -> None:
        now = self._config.clock()
        for session in sessions:
            self._publish(envelope(self._config, PACKAGE_FAILED, session.wire, now, reason=reason))
