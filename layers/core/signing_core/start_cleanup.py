"""What a start that failed leaves at Signicat, deleted: its sessions, found by id or by their collection, and the
documents it uploaded (Signicat would delete them 30 minutes later; they hold personal data)."""

from __future__ import annotations

import logging

from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import references_collection

logger = logging.getLogger(__name__)

LIST_PAGE = 100  # sessions per page when looking for what a failed start left


def delete_sessions_of(client, collection_id: str) -> None:
    """Delete every session at Signicat that references `collection_id`: what an attempt that died left."""
    offset, deleted = 0, 0
    while True:
        page = client.list_signing_sessions(limit=LIST_PAGE, offset=offset)
        ours = [session for session in page if references_collection(session, collection_id)]
        for session in ours:
            try:
                client.delete_signing_session(session["id"])
            except SignicatError as error:
                if error.status != 404:  # gone already is what we want
                    raise
        deleted += len(ours)
        if len(page) < LIST_PAGE:
            break
        offset += len(page) - len(ours)  # the deleted ones no longer take places in the listing
    logger.info("deleted %d sessions a failed start left on collection %s", deleted, collection_id)


def delete_sessions_quietly(client, session_ids: list[str]) -> bool:
    """Delete the sessions of a start that failed; whether every one is gone."""
    gone = True
    for session_id in session_ids:
        try:
            client.delete_signing_session(session_id)
        except Exception as error:
            if isinstance(error, SignicatError) and error.status == 404:
                continue  # gone already
            gone = False
            logger.warning(
                "could not delete signing session %s after a failed start",
                session_id,
                extra={"sessionId": session_id},
            )
    return gone


def delete_uploaded_quietly(client, document_ids: list[str], collection_id: str | None = None) -> None:
    """Delete the collection and the documents of a start that failed (sessions that may reference them are
    deleted by `delete_sessions_quietly` or, after a crash, found by the collection's id); what cannot be
    deleted now, Signicat deletes itself: documents no session uses after 30 minutes."""
    calls = [(client.delete_document_collection, collection_id)] if collection_id else []
    calls += [(client.delete_document, document_id) for document_id in document_ids]
    for delete, thing in calls:
        try:
            delete(thing)
        except Exception as error:
            if isinstance(error, SignicatError) and error.status == 404:
                continue  # gone already
            logger.warning("could not delete %s after a failed start", thing, extra={"deleted": thing})
