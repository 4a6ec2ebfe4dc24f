"""Cancelling a signing: its sessions deleted at Signicat, the signing ended as CANCELLED and announced.

A cancel and the package worker never both end a signing: each first takes the signing's storage claim
(claims.py). A worker storing the PAdES holds it, so the cancel answers 409 and the signing completes; while
the cancel holds it, a worker defers. A signing whose signers have all signed is not cancelled either (409):
Signicat is packaging it, and it completes.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from signing_core import claims, clients, lifecycle, outcomes, repository
from signing_core.errors import Conflict, RetryLater
from signing_core.repository import Signing
from signing_core.settings import SignicatSettings

# Longer than the API function's timeout: a cancel that died with it gives the claim up after this.
CLAIM_SECONDS = 60
ATTEMPTS = 3  # to record the decision, should the signing change meanwhile


def cancel_signing(signing_id: str, signicat: SignicatSettings) -> Signing:
    """Delete the sessions at Signicat and end the signing as CANCELLED; cancelling twice changes nothing."""
    signing = repository.get(signing_id)
    if signing.is_final:
        return _already_ended(signing)
    if signing.state == repository.STARTING:
        raise Conflict(f"signing {signing_id} is still starting; cancel it once it awaits signature")
    owner = f"cancel-{uuid.uuid4()}"
    if not claims.claim(signing_id, owner, CLAIM_SECONDS):
        current = repository.get(signing_id)
        if current.is_final:
            return _already_ended(current)
        raise Conflict(f"signing {signing_id} cannot be cancelled: its signed document is being stored")
    try:
        return _cancel_claimed(repository.get(signing_id), signicat)
    finally:
        claims.release(signing_id, owner)  # a no-op once the signing is final (the final state removed it)


def _already_ended(signing: Signing) -> Signing:
    if signing.state != repository.CANCELLED:
        raise Conflict(f"signing {signing.signingId} is {signing.state} and cannot be cancelled")
    outcomes.announce_or_leave_it(signing)
    return signing


def _cancel_claimed(signing: Signing, signicat: SignicatSettings) -> Signing:
    client = clients.signicat(signicat)
    seen = lifecycle.observe(client, signing)
    verdict = lifecycle.assess(signing, seen, datetime.now(UTC))
    if verdict.package or verdict.waiting_for == lifecycle.FOR_PACKAGING:
        raise Conflict(f"signing {signing.signingId} cannot be cancelled: every signer signed; it completes")
    if verdict.ends_without_storing and verdict.state != repository.CANCELLED:
        # It already ended otherwise at Signicat (a signer rejected, the due date passed): record that instead.
        lifecycle.withdraw(client, verdict)
        outcomes.finish(
            signing,
            verdict.state,
            sessions=verdict.sessions,
            failure=verdict.failure,
            announce_later_if_it_fails=True,
        )
        raise Conflict(f"signing {signing.signingId} is {verdict.state} and cannot be cancelled")
    for session_id, answer in seen.sessions.items():
        if answer is not lifecycle.GONE:
            lifecycle.delete_session(client, session_id)
    cancelled = [replace(session, state=repository.CANCELLED) for session in verdict.sessions]
    for _attempt in range(ATTEMPTS):
        try:
            outcomes.finish(
                signing, repository.CANCELLED, sessions=cancelled, announce_later_if_it_fails=True
            )
            break
        except RetryLater:
            # A worker recorded a session's state meanwhile (it may record, not store, while the cancel holds
            # the claim); the sessions are gone at Signicat, so the decision stands.
            signing = repository.get(signing.signingId)
    else:
        raise Conflict(f"signing {signing.signingId} kept changing while it was being cancelled; try again")
    current = repository.get(signing.signingId)
    if current.state != repository.CANCELLED:
        raise Conflict(f"signing {signing.signingId} is {current.state} and cannot be cancelled")
    return current
