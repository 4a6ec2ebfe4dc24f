"""What a signer sees at signatureUrl: the session's page, and its Sign / Reject / Cancel form."""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, abort, redirect, request

from local.emulator.context import emulator
from local.emulator.core import READY
from local.emulator.problems import ApiProblem

blueprint = Blueprint("signer_ui", __name__)

ACTIONS = ("sign", "reject", "cancel")
REDIRECT_FOR = {"sign": "success", "reject": "cancel", "cancel": "cancel"}
OUTCOME_TEXT = {
    "sign": "You have signed. You may close this page.",
    "reject": "You have rejected the signing.",
    "cancel": "You have cancelled the signing.",
}

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


@blueprint.get("/sign")
def page():
    session_id = request.args.get("sessionId", "")
    wire = emulator().store.session_wire(session_id)
    if wire is None:
        return _html("Signing session not found", f"<p>No signing session {escape(session_id)}.</p>", 404)
    links = "".join(
        f'<li><a href="/_emulator/signing-sessions/{escape(session_id)}/documents/{escape(d["documentId"])}">'
        f"{escape(d['documentId'])}</a> ({escape(d['action'])})</li>"
        for d in wire["documents"]
    )
    body = f"<ul>{links}</ul>"
    if wire["lifecycle"]["state"] == READY:
        buttons = "".join(
            f'<button type="submit" name="action" value="{a}">{a.capitalize()}</button>' for a in ACTIONS
        )
        body += (
            f'<form method="post" action="/sign"><input type="hidden" name="sessionId" '
            f'value="{escape(session_id)}">{buttons}</form>'
        )
    else:
        body += f"<p>This signing session is {escape(wire['lifecycle']['state'])}.</p>"
    return _html(wire["title"], body, 200, wire["ui"]["language"])


@blueprint.post("/sign")
def act():
    session_id, action = request.form.get("sessionId", ""), request.form.get("action", "")
    if action not in ACTIONS:
        return _html("Unknown action", f"<p>Action must be one of {', '.join(ACTIONS)}.</p>", 400)
    em = emulator()
    wire = em.store.session_wire(session_id)
    if wire is None:
        return _html("Signing session not found", f"<p>No signing session {escape(session_id)}.</p>", 404)
    redirects = wire["redirectSettings"]
    try:
        em.sign(session_id) if action == "sign" else em.end(session_id, action)
    except ApiProblem as problem:
        if redirects.get("error"):
            return redirect(redirects["error"], code=303)
        return _html("Signing failed", f"<p>{escape(problem.detail)}</p>", problem.status)
    target = redirects.get(REDIRECT_FOR[action])
    if target:
        return redirect(target, code=303)
    return _html(wire["title"], f"<p>{OUTCOME_TEXT[action]}</p>", 200)


@blueprint.get("/_emulator/signing-sessions/<session_id>/documents/<document_id>")
def document(session_id: str, document_id: str):
    em = emulator()
    wire = em.store.session_wire(session_id)
    if wire is None or all(d["documentId"] != document_id for d in wire["documents"]):
        abort(404)
    doc = em.store.document(document_id, em.config.clock())
    if doc is None:
        abort(404)
    return Response(doc.content, mimetype=doc.mime_type)


def _html(title: str, body: str, status: int, lang: str = "en") -> Response:
    text = _PAGE.format(lang=escape(lang), title=escape(title), body=body)
    return Response(text, status=status, mimetype="text/html")
