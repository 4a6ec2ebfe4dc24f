"""What a signer sees at signatureUrl: the documents, who is expected to sign, an identity step, then the
redirect to the session's redirectSettings (or a completion page without them).

The identity step stands in for an eID login: the signer types a name and a national identity number, and
with the signer's `validations` a number other than the session's is refused, as Signicat refuses an
authenticated identity that does not match. Sign → `success`; reject → the session is REJECTED and the
signer goes to `cancel`; cancel → the signer leaves, the session stays READY, and goes to `cancel`; a
refusal or any other failure → `error`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, abort, redirect, request

from local.emulator.context import emulator
from local.emulator.core import BLOCKED, READY, SIGNER_ACTIONS
from local.emulator.identity import requires_number
from local.emulator.page_text import texts
from local.emulator.problems import ApiProblem
from local.emulator.store import Identity

blueprint = Blueprint("signer_ui", __name__)

REDIRECT_FOR = {"sign": "success", "reject": "cancel", "cancel": "cancel"}
OUTCOME_TEXT = {"sign": "signed", "reject": "rejected", "cancel": "cancelled"}

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }}
.document {{ width: 100%; height: 28rem; border: 1px solid #ccc; }}
pre.document {{ height: auto; max-height: 28rem; overflow: auto; padding: 1rem; white-space: pre-wrap; }}
label {{ display: block; margin-top: .75rem; }} input {{ width: 100%; padding: .4rem; }}
.buttons {{ margin-top: 1rem; display: flex; gap: .5rem; }} button {{ padding: .5rem 1.2rem; }}
.error {{ color: #b00020; font-weight: 600; }}
</style></head>
<body><main>
{body}
</main></body></html>
"""


@blueprint.get("/sign")
def page():
    session_id = request.args.get("sessionId", "")
    wire = _session(session_id)
    if wire is None:
        return _not_found(session_id)
    return _signing_page(wire)


@blueprint.post("/sign")
def act():
    session_id, action = request.form.get("sessionId", ""), request.form.get("action", "")
    if action not in SIGNER_ACTIONS:
        return _html(
            "en", "Unknown action", f"<p>Action must be one of {', '.join(SIGNER_ACTIONS)}.</p>", 400
        )
    wire = _session(session_id)
    if wire is None:
        return _not_found(session_id)
    words, redirects = texts(wire["ui"]["language"]), wire["redirectSettings"]
    identity = None
    if action == "sign":
        identity, missing = _identity_from_form(wire)
        if missing:
            return _signing_page(wire, error=words[missing], status=400)
    try:
        emulator().act(session_id, action, identity)
    except ApiProblem as problem:
        if redirects.get("error"):
            return redirect(redirects["error"], code=303)
        message = words["mismatch"] if problem.code == "identity_mismatch" else words["failed"]
        return _signing_page(wire, error=message, status=problem.status)
    target = redirects.get(REDIRECT_FOR[action])
    if target:
        return redirect(target, code=303)
    outcome = f'<h1>{escape(wire["title"])}</h1><p id="outcome">{escape(words[OUTCOME_TEXT[action]])}</p>'
    return _html(wire["ui"]["language"], wire["title"], outcome, 200)


@blueprint.get("/_emulator/signing-sessions/<session_id>/documents/<document_id>")
def document(session_id: str, document_id: str):
    """A document of the session, for the page to show (no access token: the signer has none)."""
    em = emulator()
    wire = _session(session_id)
    if wire is None or all(d["documentId"] != document_id for d in wire["documents"]):
        abort(404)
    doc = em.store.document(document_id, em.config.clock())
    if doc is None:
        abort(404)
    return Response(doc.content, mimetype=doc.mime_type)


def _session(session_id: str) -> dict[str, Any] | None:
    em = emulator()
    return em.store.session_wire(session_id, em.config.clock())


def _identity_from_form(wire: dict[str, Any]) -> tuple[Identity | None, str | None]:
    """(the identity typed in, or the name of the message for what is missing)."""
    name = request.form.get("name", "").strip()
    number = request.form.get("nationalIdentificationNumber", "").strip()
    if not name:
        return None, "name_required"
    if not number and requires_number(wire.get("signer")):
        return None, "nin_required"
    return Identity(name, number or None), None


def _signing_page(wire: dict[str, Any], error: str | None = None, status: int = 200) -> Response:
    language = wire["ui"]["language"]
    words = texts(language)
    sender = wire.get("senderDisplayName") or "Signicat"
    parts = [
        f'<p id="sender">{escape(words["asks"].format(sender=sender))}</p>',
        f"<h1>{escape(wire['title'])}</h1>",
        _signer_section(wire.get("signer"), words),
        _documents_section(wire, words),
    ]
    if wire.get("signText"):
        parts.append(f'<p id="sign-text">{escape(wire["signText"])}</p>')
    if error:
        parts.append(f'<p class="error" role="alert" id="error">{escape(error)}</p>')
    state = wire["lifecycle"]["state"]
    if state == READY:
        parts.append(_identity_form(wire, words))
    elif state == BLOCKED:
        parts.append(f'<p id="state">{escape(words["blocked"])}</p>')
    else:
        parts.append(f'<p id="state">{escape(words["state"].format(state=state))}</p>')
    return _html(language, wire["title"], "\n".join(parts), status)


def _signer_section(signer: dict[str, Any] | None, words: dict[str, str]) -> str:
    heading = f"<h2>{escape(words['expected_signer'])}</h2>"
    if not signer:
        return f'<section id="signer">{heading}<p>{escape(words["anyone"])}</p></section>'
    rows = [(words[field], signer[field]) for field in ("email", "mobile") if signer.get(field)]
    items = "".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in rows)
    number = signer.get("nationalIdentificationNumber")
    if number:
        # Only the last digits: the page is reachable by anyone holding the link.
        items += f"<dd>{escape(words['nin_ending'].format(digits=number.strip()[-4:]))}</dd>"
    if requires_number(signer):
        items += f"<dd>{escape(words['nin_checked'])}</dd>"
    return f'<section id="signer">{heading}<dl>{items}</dl></section>'


def _documents_section(wire: dict[str, Any], words: dict[str, str]) -> str:
    em = emulator()
    figures = []
    for index, entry in enumerate(wire["documents"], start=1):
        doc = em.store.document(entry["documentId"], em.config.clock())
        url = escape(f"/_emulator/signing-sessions/{wire['id']}/documents/{entry['documentId']}")
        name = (doc.metadata.get("title") or doc.metadata.get("filename")) if doc else None
        label = name or f"{words['documents']} {index}"
        action = words.get(entry["action"], entry["action"])
        caption = f"{escape(label)} ({escape(action)})"
        if doc is not None and doc.mime_type == "text/plain":
            shown = f'<pre class="document">{escape(doc.content.decode("utf-8", errors="replace"))}</pre>'
        else:
            shown = f'<iframe class="document" src="{url}" title="{escape(label)}"></iframe>'
        figures.append(
            f'<figure class="document-entry" data-document-id="{escape(entry["documentId"])}">'
            f'<figcaption>{caption} <a href="{url}">{escape(words["open"])}</a></figcaption>{shown}</figure>'
        )
    return f'<section id="documents"><h2>{escape(words["documents"])}</h2>{"".join(figures)}</section>'


def _identity_form(wire: dict[str, Any], words: dict[str, str]) -> str:
    required = " required" if requires_number(wire.get("signer")) else ""
    buttons = "".join(
        f'<button type="submit" name="action" value="{action}"{"" if action == "sign" else " formnovalidate"}>'
        f"{escape(words[action])}</button>"
        for action in SIGNER_ACTIONS
    )
    return (
        '<form method="post" action="/sign" id="identity">'
        f'<input type="hidden" name="sessionId" value="{escape(wire["id"])}">'
        f"<h2>{escape(words['identify'])}</h2>"
        f'<label for="name">{escape(words["name"])}</label>'
        '<input id="name" name="name" autocomplete="name" required>'
        f'<label for="nin">{escape(words["nin"])}</label>'
        f'<input id="nin" name="nationalIdentificationNumber" inputmode="numeric"{required}>'
        f'<div class="buttons">{buttons}</div></form>'
    )


def _not_found(session_id: str) -> Response:
    return _html("en", "Signing session not found", f"<p>No signing session {escape(session_id)}.</p>", 404)


def _html(lang: str, title: str, body: str, status: int) -> Response:
    text = _PAGE.format(lang=escape(lang), title=escape(title), body=body)
    return Response(text, status=status, mimetype="text/html")
