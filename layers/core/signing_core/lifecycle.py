"""What Signicat reports about a signing's sessions, and where that takes the signing: the transition table.

The package worker, the reconciler and the cancel read every session of a signing (`observe`) and ask
`assess` where it goes; docs/architecture.md ("What Signicat reports, and where a signing goes") is this
table in words, and a test holds the two together. Stdlib only.

Signicat answers a session as BLOCKED, READY, SIGNED or REJECTED (or a state this code does not know: not
final), or answers 404: the session was deleted there, or its due date passed. The two 404s are told apart
by the session's due date, recorded when it was created (without one: Signicat's longest, 30 days after the
signing was created).
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

GONE = None  # what `observe` records for a session Signicat answers 404 for
LONGEST_DUE = timedelta(days=30)  # Signicat refuses a dueDate further ahead than this
# Why a signing that is not final yet waits.
FOR_SIGNERS = "signers"  # some session is not signed yet
FOR_PACKAGING = "packaging"  # every session is signed; the PAdES is not packaged yet

Answers = Mapping[str, dict[str, Any] | None]  # session id → Signicat's answer, or GONE


class SessionReader(Protocol):
    def get_signing_session(self, session_id: str) -> dict: ...


@dataclass(frozen=True)
class Verdict:
    state: str  # where the signing goes; its own state (or SIGNED) while it waits
    sessions: list[Session]  # every session, with the state Signicat reports for it
    failure: dict[str, str] | None = None
    package: tuple[str, str] | None = None  # (session id, PAdES document id): store it, then COMPLETED
    waiting_for: str | None = None  # FOR_SIGNERS or FOR_PACKAGING while not final

    @property
    def ends_without_storing(self) -> bool:
        return self.waiting_for is None and self.package is None


def observe(client: SessionReader, signing: Signing) -> dict[str, dict[str, Any] | None]:
    """Every session of the signing as Signicat answers it now; GONE for a 404. Other errors are raised."""
    answers: dict[str, dict[str, Any] | None] = {}
    for session in signing.sessions:
        try:
            answers[session.sessionId] = client.get_signing_session(session.sessionId)
        except SignicatError as error:
            if error.status != 404:
                raise
            answers[session.sessionId] = GONE
    return answers


def assess(
    signing: Signing,
    answers: Answers,
    now: datetime,
    *,
    packaging_failed: bool = False,
    prefer_session: str | None = None,
) -> Verdict:
    """Where `signing` goes, given every session's answer; the first row that applies wins (the docs' order).

    `packaging_failed`: a package.failed event named one of the sessions. `prefer_session`: whose PAdES to
    store when several sessions carry one (the event's).
    """
    states = {s.sessionId: _state(answers.get(s.sessionId)) for s in signing.sessions}
    sessions = [replace(s, state=states[s.sessionId] or s.state) for s in signing.sessions]
    if wire.REJECTED in states.values():
        return Verdict(REJECTED, sessions, {"code": "REJECTED", "detail": "a signer rejected"})
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
        package = _package(signing, answers, prefer_session)
        if package:
            return Verdict(COMPLETED, sessions, package=package)
        return Verdict(SIGNED, sessions, waiting_for=FOR_PACKAGING)
    anyone_signed = signing.state == SIGNED or len(unsigned) < len(signing.sessions)
    return Verdict(SIGNED if anyone_signed else AWAITING_SIGNATURE, sessions, waiting_for=FOR_SIGNERS)


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


def _package(signing: Signing, answers: Answers, prefer_session: str | None) -> tuple[str, str] | None:
    order = sorted(signing.sessions, key=lambda s: s.sessionId != prefer_session)
    for session in order:
        document_id = wire.pades_document_id(answers[session.sessionId] or {})
        if document_id:
            return session.sessionId, document_id
    return None
