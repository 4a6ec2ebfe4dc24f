"""What Signicat reports about a signing, and where that takes the signing: the transition table.

The package worker, the reconciler and the cancel read every session of a signing and, once every one is
signed, its document collection (`observe`), and ask `assess` where it goes; docs/architecture.md ("What
Signicat reports, and where a signing goes") is this table in words, and a test holds the two together.
Stdlib only, apart from the client it is handed.

Signicat answers a session as BLOCKED, READY, SIGNED or REJECTED (or a state this code does not know: not
final), or answers 404: the session was deleted there, or its due date passed. The two 404s are told apart
by the session's due date, recorded when it was created (without one: Signicat's longest, 30 days after the
signing was created). The one PAdES with every signer's signature is the collection's (its `packageTo`):
Signicat packages it once every session referencing it is signed, in the collection's `output.packages`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from signing_core import signicat_wire as wire
from signing_core.repository import Session, Signing
from signing_core.signicat_errors import SignicatError
from signing_core.vocabulary import (
    AWAITING_SIGNATURE,
    CANCELLED,
    COMPLETED,
    EXPIRED,
    FAILED,
    REJECTED,
    SIGNED,
)

logger = logging.getLogger(__name__)

GONE = None  # what `observe` records for a session (or the collection) Signicat answers 404 for
LONGEST_DUE = timedelta(days=30)  # Signicat refuses a dueDate further ahead than this
# Why a signing that is not final yet waits.
FOR_SIGNERS = "signers"  # some session is not signed yet
FOR_PACKAGING = "packaging"  # every session is signed; the PAdES is not packaged yet

Answers = Mapping[str, dict[str, Any] | None]  # session id → Signicat's answer, or GONE


class SignicatReader(Protocol):
    def get_signing_session(self, session_id: str) -> dict: ...

    def get_document_collection(self, collection_id: str) -> dict: ...


class SessionDeleter(Protocol):
    def delete_signing_session(self, session_id: str) -> None: ...


@dataclass(frozen=True)
class Observation:
    """What Signicat answers now: every session (GONE for a 404) and, once every session is signed, the
    document collection, where the PAdES appears (not read before: it cannot be packaged yet)."""

    sessions: Answers
    collection: dict[str, Any] | None = None
    collection_gone: bool = False  # the collection answered 404


@dataclass(frozen=True)
class Verdict:
    state: str  # where the signing goes; its own state (or SIGNED) while it waits
    sessions: list[Session]  # every session, with the state Signicat reports for it
    failure: dict[str, str] | None = None
    package: str | None = None  # the PAdES's document id: store it, then COMPLETED
    waiting_for: str | None = None  # FOR_SIGNERS or FOR_PACKAGING while not final
    withdraw: tuple[str, ...] = ()  # sessions to delete at Signicat before the end is recorded

    @property
    def ends_without_storing(self) -> bool:
        return self.waiting_for is None and self.package is None


def observe(client: SignicatReader, signing: Signing) -> Observation:
    """Every session of the signing as Signicat answers it now, then (once every one is signed) its
    collection. Sessions come first: a collection packaged means every session was signed. Errors other
    than 404 are raised."""
    sessions = {s.sessionId: _read(client.get_signing_session, s.sessionId) for s in signing.sessions}
    if not sessions or any(_state(answer) != wire.SIGNED for answer in sessions.values()):
        return Observation(sessions)
    collection = _read(client.get_document_collection, signing.documentCollectionId)
    return Observation(sessions, collection, collection_gone=collection is GONE)


def _read(get, identifier: str) -> dict[str, Any] | None:
    try:
        return get(identifier)
    except SignicatError as error:
        if error.status != 404:
            raise
        return GONE


def assess(signing: Signing, seen: Observation, now: datetime, *, packaging_failed: bool = False) -> Verdict:
    """Where `signing` goes, given what Signicat answers; the first row that applies wins (the docs' order).

    `packaging_failed`: a package.failed event named the signing (one of its sessions or its collection).
    """
    answers = seen.sessions
    states = {s.sessionId: _state(answers.get(s.sessionId)) for s in signing.sessions}
    sessions = [replace(s, state=states[s.sessionId] or s.state) for s in signing.sessions]
    rejected = [s.sessionId for s in signing.sessions if states[s.sessionId] == wire.REJECTED]
    if rejected:
        return _rejected(sessions, rejected[0], answers)
    gone = [s for s in signing.sessions if answers.get(s.sessionId) is GONE]
    if gone:
        if any(_past_due(s.dueDate, signing, now) for s in gone):
            detail = f"the due date passed; Signicat no longer has session {gone[0].sessionId}"
            return _ended(EXPIRED, sessions, gone, {"code": "EXPIRED", "detail": detail})
        detail = f"session {gone[0].sessionId} was deleted at Signicat"
        return _ended(CANCELLED, sessions, gone, {"code": "DELETED_AT_SIGNICAT", "detail": detail})
    if packaging_failed:
        detail = f"Signicat reported packaging failed (sessions {', '.join(map(str, states.values()))})"
        return Verdict(FAILED, sessions, {"code": "PACKAGING_FAILED", "detail": detail})
    unsigned = [s for s in signing.sessions if states[s.sessionId] != wire.SIGNED]
    for session in unsigned:
        if states[session.sessionId] not in (wire.READY, wire.BLOCKED):
            state = states[session.sessionId]
            logger.warning(
                "session %s is %r, a state this code does not know: not final",
                session.sessionId,
                state,
                extra={"signingId": signing.signingId, "sessionId": session.sessionId},
            )
    if any(_past_due(_due_date(answers[s.sessionId], s), signing, now) for s in unsigned):
        detail = "the due date passed before every signer signed"
        return Verdict(EXPIRED, sessions, {"code": "EXPIRED", "detail": detail})
    if not unsigned:
        if seen.collection_gone:
            detail = f"document collection {signing.documentCollectionId} was deleted at Signicat"
            return Verdict(CANCELLED, sessions, {"code": "DELETED_AT_SIGNICAT", "detail": detail})
        package = _package(signing, seen)
        if package:
            return Verdict(COMPLETED, sessions, package=package)
        return Verdict(SIGNED, sessions, waiting_for=FOR_PACKAGING)
    anyone_signed = signing.state == SIGNED or len(unsigned) < len(signing.sessions)
    return Verdict(SIGNED if anyone_signed else AWAITING_SIGNATURE, sessions, waiting_for=FOR_SIGNERS)


def withdraw(client: SessionDeleter, verdict: Verdict) -> None:
    """Delete at Signicat the sessions the verdict withdraws, before its end is recorded (so a failure here
    leaves the signing to be tried again, never ended with a session someone could still sign)."""
    for session_id in verdict.withdraw:
        delete_session(client, session_id)


def delete_session(client: SessionDeleter, session_id: str) -> None:
    """Delete a session at Signicat; one already gone counts as done."""
    try:
        client.delete_signing_session(session_id)
    except SignicatError as error:
        if error.status != 404:
            raise


def _rejected(sessions: list[Session], rejected_by: str, answers: Answers) -> Verdict:
    """A signer declined: nobody else is asked to sign. The sessions still open (READY, BLOCKED, ...) are
    withdrawn, and show CANCELLED; signed ones stay as they are, at Signicat too."""
    still_open = tuple(
        s.sessionId
        for s in sessions
        if answers.get(s.sessionId) is not GONE and s.state not in (wire.SIGNED, wire.REJECTED)
    )
    shown = [replace(s, state=CANCELLED) if s.sessionId in still_open else s for s in sessions]
    failure = {"code": "REJECTED", "detail": f"a signer rejected (session {rejected_by})"}
    return Verdict(REJECTED, shown, failure, withdraw=still_open)


def _state(answer: dict[str, Any] | None) -> str | None:
    return None if answer is GONE else wire.lifecycle_state(answer)


def _ended(state: str, sessions: list[Session], gone: list[Session], failure: dict[str, str]) -> Verdict:
    """A session gone at Signicat ends with the signing: it shows the signing's end."""
    gone_ids = {s.sessionId for s in gone}
    shown = [replace(s, state=state) if s.sessionId in gone_ids else s for s in sessions]
    return Verdict(state, shown, failure)


def _due_date(answer: dict[str, Any], session: Session) -> str | None:
    return answer.get("dueDate") or session.dueDate


def _past_due(due_date: str | None, signing: Signing, now: datetime) -> bool:
    due = _parse(due_date) or (_parse(signing.createdAt) or now) + LONGEST_DUE
    return due <= now


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None


def _package(signing: Signing, seen: Observation) -> str | None:
    """Where the PAdES is: the one place that decides. It is the collection's package, which carries every
    signer's signature. A signing of one session started before collections were packaged (its session had
    its own `packageTo`) has it in that session's packages: with one signer, that is the same document."""
    document_id = wire.pades_document_id(seen.collection or {})
    if document_id is None and len(signing.sessions) == 1:
        document_id = wire.pades_document_id(seen.sessions.get(signing.sessions[0].sessionId) or {})
    return document_id
