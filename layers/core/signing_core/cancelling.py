"""Cancelling a signing: its sessions deleted at Signicat, the signing ended as CANCELLED and announced."""

from __future__ import annotations

from signing_core import clients, outcomes, repository
from signing_core.errors import Conflict
from signing_core.repository import Signing
from signing_core.settings import SignicatSettings
from signing_core.signicat_errors import SignicatError


def cancel_signing(signing_id: str, signicat: SignicatSettings) -> Signing:
    """Delete the sessions at Signicat and end the signing as CANCELLED; cancelling twice changes nothing."""
    signing = repository.get(signing_id)
    if signing.state == repository.CANCELLED:
        outcomes.announce_or_leave_it(signing)
        return signing
    if signing.is_final:
        raise Conflict(f"signing {signing_id} is {signing.state} and cannot be cancelled")
    for session in signing.sessions:
        try:
            clients.signicat(signicat).delete_signing_session(session.sessionId)
        except SignicatError as error:
            if error.status != 404:  # already gone at Signicat is what we want
                raise
        session.state = repository.CANCELLED
    try:
        cancelled = repository.transition(signing, repository.CANCELLED, sessions=signing.sessions)
    except Conflict:
        return cancel_signing(signing_id, signicat)  # it changed meanwhile: decide again on what it is now
    outcomes.announce_or_leave_it(cancelled)  # if it fails, the reconciler announces it: the cancel happened
    return cancelled
