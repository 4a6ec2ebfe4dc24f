"""The Sign API v2 under /sign: documents, document collections and signing sessions."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local.emulator.context import emulator
from local.emulator.core import BLOCKED, READY, SIGNED
from local.emulator.problems import (
    bad_request,
    invalid,
    not_found,
    param,
    unauthorized,
    unsupported_media_type,
)
from local.emulator.store import Collection, Document, Session
from local.emulator.validation import validate_collection, validate_metadata, validate_sessions
from local.emulator.values import iso, new_id

DOCUMENT_TYPES = ("application/pdf", "text/plain")
CHUNK = 64 * 1024
MAX_LIST_LIMIT = 1000
SORT_ORDERS = ("asc", "desc")  # by creation time; the parameter's values are not public

blueprint = Blueprint("sign_api", __name__, url_prefix="/sign")


@blueprint.before_request
def require_bearer() -> None:
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        raise unauthorized("A Bearer access token is required.")
    if not emulator().token_valid(auth.token):
        raise unauthorized("The access token is unknown or has expired.")


# --- documents


@blueprint.post("/documents")
def upload_document():
    if request.mimetype not in DOCUMENT_TYPES:
        raise unsupported_media_type(
            f"Content-Type must be one of {', '.join(DOCUMENT_TYPES)}, got {request.mimetype or 'none'}."
        )
    content = request.get_data()
    if not content:
        raise bad_request("The document is empty.")
    _check_content(content, request.mimetype)
    em = emulator()
    now = em.config.clock()
    doc = Document(new_id(), content, request.mimetype, now, now + timedelta(seconds=em.config.document_ttl))
    em.store.add_document(doc)
    hex_digest = hashlib.sha256(content).hexdigest()
    return jsonify(
        mimeType=doc.mime_type,
        documentId=doc.id,
        createdAt=iso(now),
        # base64 of the hex digest's text, as Signicat's own example answer shows
        documentHash={"hash": base64.b64encode(hex_digest.encode()).decode(), "hashAlgorithm": "SHA256"},
    )


def _check_content(content: bytes, mime_type: str) -> None:
    if mime_type == "application/pdf" and not content.startswith(b"%PDF-"):
        raise bad_request("The document is not a PDF: it does not start with %PDF-.")
    if mime_type == "text/plain":
        try:
            content.decode(request.mimetype_params.get("charset", "utf-8"))
        except (UnicodeDecodeError, LookupError) as error:
            raise bad_request(f"The text document cannot be decoded: {error}.") from error


def _document(document_id: str) -> Document:
    em = emulator()
    doc = em.store.document(document_id, em.config.clock())
    if doc is None:
        raise not_found("Document", document_id)
    return doc


@blueprint.get("/documents/<document_id>")
def download_document(document_id: str):
    em = emulator()
    doc = _document(document_id)
    content, mime_type = doc.content, doc.mime_type
    # A stalled download (fault `stall_rate`) sends half the body, then nothing for `stall_seconds`:
    # the reader sees a stream that stops mid-body, as when a function runs out of time while streaming.
    stall = em.injector.roll("download", "stall_rate", "stall") and em.injector.faults.stall_seconds
    return Response(
        _chunks(content, stall), mimetype=mime_type, headers={"Content-Length": str(len(content))}
    )


def _chunks(content: bytes, stall: float = 0.0):
    half = len(content) // 2 if stall else len(content)
    for start, end in ((0, half), (half, len(content))):
        if start == half and stall:
            time.sleep(stall)
        yield from (content[i : min(i + CHUNK, end)] for i in range(start, end, CHUNK))


@blueprint.delete("/documents/<document_id>")
def delete_document(document_id: str):
    _document(document_id)
    emulator().store.delete_document(document_id)
    return "", 204


@blueprint.get("/documents/<document_id>/metadata")
def get_metadata(document_id: str):
    return jsonify(_metadata_wire(_document(document_id)))


@blueprint.patch("/documents/<document_id>/metadata")
def patch_metadata(document_id: str):
    changes = validate_metadata(_json_body())
    doc = _document(document_id)
    with emulator().store.lock:
        doc.metadata.update(changes)
    return jsonify(_metadata_wire(doc))


def _metadata_wire(doc: Document) -> dict[str, Any]:
    return {"documentId": doc.id, "mimeType": doc.mime_type, "createdAt": iso(doc.created_at), **doc.metadata}


# --- document collections


@blueprint.post("/document-collections")
def create_collection():
    em = emulator()
    now = em.config.clock()
    requested = validate_collection(_json_body(), lambda d: em.store.document(d, now) is not None)
    collection = Collection(new_id(), requested["documents"], requested["packageTo"])
    with em.store.lock:
        em.store.collections[collection.id] = collection
        answer = collection.wire()
    return jsonify(answer), 201


@blueprint.get("/document-collections/<collection_id>")
def get_collection(collection_id: str):
    store = emulator().store
    with store.lock:
        collection = store.collection(collection_id)
        if collection is None:
            raise not_found("Document collection", collection_id)
        return jsonify(collection.wire())


@blueprint.delete("/document-collections/<collection_id>")
def delete_collection(collection_id: str):
    if emulator().store.remove_collection(collection_id) is None:
        raise not_found("Document collection", collection_id)
    return "", 204


# --- signing sessions


@blueprint.post("/signing-sessions")
def create_sessions():
    body = _json_body()
    em = emulator()
    now = em.config.clock()
    with em.store.lock:
        requested = validate_sessions(body, _document_check, now)
        _check_predecessors(requested, now)
        sessions = [_new_session(item, now) for item in requested]
        for session in sessions:
            em.store.add_session(session)
        answer = [copy.deepcopy(s.wire) for s in sessions]
    return jsonify(answer), 201


def _document_check(collection_id: str, document_id: str) -> str | None:
    em = emulator()
    collection = em.store.collection(collection_id)
    if collection is None:
        return f"document collection {collection_id} does not exist"
    if document_id not in collection.document_ids:
        return f"document {document_id} is not in document collection {collection_id}"
    if em.store.document(document_id, em.config.clock()) is None:
        return f"document {document_id} does not exist or has expired"
    return None


def _check_predecessors(requested: list[dict[str, Any]], now: datetime) -> None:
    store = emulator().store
    errors = [
        param(f"[{i}].subsequentTo", f"signing session {ref} does not exist")
        for i, item in enumerate(requested)
        for ref in item["subsequentTo"]
        if store.session(ref, now) is None
    ]
    if errors:
        raise invalid(errors)


OPTIONAL_FIELDS = ("signer", "senderDisplayName", "signText", "preAuthentication")  # answered when asked


def _new_session(item: dict[str, Any], now: datetime) -> Session:
    em = emulator()
    session_id = new_id()
    base = (em.config.public_base_url or request.host_url).rstrip("/")
    waiting = any(em.store.sessions[ref].state != SIGNED for ref in item["subsequentTo"])
    wire = {
        "id": session_id,
        "signatureUrl": f"{base}/sign?sessionId={session_id}",
        "title": item["title"],
        "dueDate": iso(item["dueDate"]),
        "documents": item["documents"],
        "lifecycle": {"state": BLOCKED if waiting else READY, "stateIsFinal": False},
        "output": {"signatures": [], "packages": []},
        "externalReference": item["externalReference"],
        "signingSetup": item["signingSetup"],
        "subsequentTo": item["subsequentTo"],
        "packageTo": item["packageTo"],
        "ui": item["ui"],
        "redirectSettings": item["redirectSettings"] or {},
        **{name: item[name] for name in OPTIONAL_FIELDS if item[name] is not None},
    }
    collection_ids = list(dict.fromkeys(d["documentCollectionId"] for d in item["documents"]))
    return Session(wire=wire, created_at=now, due=item["dueDate"], collection_ids=collection_ids)


@blueprint.get("/signing-sessions/<session_id>")
def get_session(session_id: str):
    em = emulator()
    wire = em.store.session_wire(session_id, em.config.clock())
    if wire is None:
        raise not_found("Signing session", session_id)
    return jsonify(wire)


@blueprint.delete("/signing-sessions/<session_id>")
def delete_session(session_id: str):
    em = emulator()
    with em.store.lock:
        if em.store.session(session_id, em.config.clock()) is None:
            raise not_found("Signing session", session_id)
        em.store.remove_session(session_id)
    return "", 204


@blueprint.get("/signing-sessions")
def list_sessions():
    limit = _int_arg("limit", default=100, low=1, high=MAX_LIST_LIMIT)
    offset = _int_arg("offset", default=0, low=0, high=None)
    sort = request.args.get("sort", "asc")
    if sort not in SORT_ORDERS:
        raise invalid([param("sort", f"must be one of {', '.join(SORT_ORDERS)}")])
    em = emulator()
    with em.store.lock:
        ordered = sorted(em.store.live_sessions(em.config.clock()), key=lambda s: s.created_at)
        if sort == "desc":
            ordered.reverse()
        data = [copy.deepcopy(s.wire) for s in ordered[offset : offset + limit]]
    return jsonify(data=data, count=len(data), limit=limit, offset=offset, total=len(ordered))


def _int_arg(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise invalid([param(name, f"must be an integer {bounds}")])
    return value


def _json_body() -> Any:
    if not request.is_json:
        raise unsupported_media_type("Content-Type must be application/json.")
    try:
        return json.loads(request.get_data())
    except ValueError as error:
        raise invalid([param("body", f"malformed JSON: {error}")], "The body is not valid JSON.") from error
