"""The emulator's state and behaviour behind the HTTP layer: tokens, the signer's actions, workers."""

from __future__ import annotations

import copy
import itertools
import secrets
from datetime import datetime, timedelta
from typing import Any

from local.emulator.config import EmulatorConfig
from local.emulator.delivery import Deliverer
from local.emulator.faults import FaultInjector, Stats
from local.emulator.identity import expected_identity, must_match
from local.emulator.packaging import Packager
from local.emulator.pades import TestCA
from local.emulator.problems import conflict, not_found
from local.emulator.signatures import raw_signature
from local.emulator.store import Document, Identity, Session, Store
from local.emulator.values import new_id

READY, BLOCKED, SIGNED, REJECTED = "READY", "BLOCKED", "SIGNED", "REJECTED"
FINAL_STATES = (SIGNED, REJECTED)
SIGNER_ACTIONS = ("sign", "reject", "cancel")


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = Store()
        self.stats = Stats()
        self.injector = FaultInjector(config.faults, config.seed, self.stats)
        self.ca = TestCA()
        self.deliverer = Deliverer(config, self.injector, self.stats)
        self.packager = Packager(
            config, self.store, self.ca, self.injector, self.stats, self.deliverer.publish
        )
        self._signing_order = itertools.count(1)

    def ca_pem(self) -> bytes:
        """The emulator CA's certificate (PEM): the trust root of every PAdES it produces."""
        return self.ca.ca_pem

    def close(self) -> None:
        """Stop the packaging and delivery threads and wait for them."""
        self.packager.stop()
        self.deliverer.stop()

    # --- OAuth2 tokens

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self.store.lock:
            self.store.tokens[token] = self.config.clock() + timedelta(seconds=self.config.token_lifetime)
        return token

    def token_valid(self, token: str) -> bool:
        with self.store.lock:
            expiry = self.store.tokens.get(token)
            if expiry is not None and expiry <= self.config.clock():
                del self.store.tokens[token]
                expiry = None
        return expiry is not None

    # --- the signer's actions

    def act(self, session_id: str, action: str, identity: Identity | None = None) -> dict[str, Any]:
        if action == "sign":
            return self.sign(session_id, identity)
        return self.end(session_id, action)

    def sign(self, session_id: str, identity: Identity | None = None) -> dict[str, Any]:
        """Sign as `identity`; without one, as the person the session's signer names. A BLOCKED session, or
        an identity the signer's validations refuse, is not signed."""
        now = self.config.clock()
        with self.store.lock:
            session = self._actionable(session_id, now)
            signer = session.wire.get("signer")
            who = identity or expected_identity(signer, session_id)
            must_match(signer, who)
            session.signed_by, session.signed_order = who, next(self._signing_order)
            self._record_signatures(session, who, now)
            self._set_state(session.wire, SIGNED)
            self._unblock_followers(now)
            wire = copy.deepcopy(session.wire)
        self.packager.session_signed(session)
        return wire

    def end(self, session_id: str, action: str) -> dict[str, Any]:
        """reject: the signer declines, the session is REJECTED (final). cancel: the signer leaves the
        signing page without deciding; the session stays READY and its link keeps working."""
        now = self.config.clock()
        with self.store.lock:
            session = self._actionable(session_id, now)
            if action == "reject":
                self._set_state(session.wire, REJECTED)
            wire = copy.deepcopy(session.wire)
        if action == "reject":
            self.packager.session_rejected(session)
        return wire

    def _actionable(self, session_id: str, now: datetime) -> Session:
        session = self.store.session(session_id, now)
        if session is None:
            raise not_found("Signing session", session_id)
        if session.state != READY:
            raise conflict(f"Signing session {session_id} is {session.state}, not READY.")
        return session

    def _record_signatures(self, session: Session, who: Identity, now: datetime) -> None:
        """The raw signature on each document signed, in output.signatures; kept as long as the session."""
        flow = session.wire["signingSetup"][0]["signingFlow"]
        for entry in session.wire["documents"]:
            doc = self.store.documents.get(entry["documentId"])
            if entry["action"] != "SIGN" or doc is None:
                continue
            content, mime_type, kind = raw_signature(
                self.ca, doc.id, doc.content, doc.mime_type, flow, who, now
            )
            result = Document(new_id(), content, mime_type, now, session.due)
            self.store.add_document(result, holder=session)
            session.wire["output"]["signatures"].append(
                {
                    "resultDocumentId": result.id,
                    "originalDocumentId": doc.id,
                    "documentCollectionId": entry["documentCollectionId"],
                    "signatureType": kind,
                }
            )

    def _unblock_followers(self, now: datetime) -> None:
        for other in self.store.live_sessions(now):
            if other.state == BLOCKED and all(
                (before := self.store.sessions.get(s)) is not None and before.state == SIGNED
                for s in other.wire["subsequentTo"]
            ):
                self._set_state(other.wire, READY)

    @staticmethod
    def _set_state(wire: dict[str, Any], state: str) -> None:
        wire["lifecycle"] = {"state": state, "stateIsFinal": state in FINAL_STATES}
