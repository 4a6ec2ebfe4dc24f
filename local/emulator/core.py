"""The emulator's state and behaviour behind the HTTP layer: tokens, signing lifecycle, workers."""

from __future__ import annotations

import copy
import secrets
from datetime import timedelta
from typing import Any

from local.emulator.config import EmulatorConfig
from local.emulator.delivery import Deliverer
from local.emulator.faults import FaultInjector, Stats
from local.emulator.packaging import Packager
from local.emulator.pades import TestCA
from local.emulator.problems import ApiProblem, not_found
from local.emulator.store import Store

READY, BLOCKED, SIGNED, REJECTED = "READY", "BLOCKED", "SIGNED", "REJECTED"
FINAL_STATES = (SIGNED, REJECTED)

# A signer who rejects and one who cancels both end the session as REJECTED (a documented, final
# state every client knows); the event's reason tells them apart.
REASONS = {"reject": "REJECTED_BY_SIGNER", "cancel": "CANCELLED_BY_SIGNER"}


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

    def sign(self, session_id: str) -> dict[str, Any]:
        with self.store.lock:
            session = self._actionable(session_id)
            self._set_state(session.wire, SIGNED)
            self._unblock_followers()
            wire = copy.deepcopy(session.wire)
        self.packager.session_signed(session)
        return wire

    def end(self, session_id: str, action: str) -> dict[str, Any]:
        """Reject or cancel: the session becomes REJECTED and package.failed is delivered."""
        with self.store.lock:
            session = self._actionable(session_id)
            self._set_state(session.wire, REJECTED)
            wire = copy.deepcopy(session.wire)
        self.packager.session_rejected(wire, REASONS[action])
        return wire

    def _actionable(self, session_id: str):
        session = self.store.sessions.get(session_id)
        if session is None:
            raise not_found("Signing session", session_id)
        if session.state != READY:
            raise ApiProblem(
                409, "CONFLICT", "Conflict", f"Signing session {session_id} is {session.state}, not READY."
            )
        return session

    def _unblock_followers(self) -> None:
        for other in self.store.sessions.values():
            if other.state == BLOCKED and all(
                self.store.sessions.get(s) is not None and self.store.sessions[s].state == SIGNED
                for s in other.wire["subsequentTo"]
            ):
                self._set_state(other.wire, READY)

    @staticmethod
    def _set_state(wire: dict[str, Any], state: str) -> None:
        wire["lifecycle"] = {"state": state, "stateIsFinal": state in FINAL_STATES}
