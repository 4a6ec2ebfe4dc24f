"""The emulator's own endpoints under /_emulator: scripted signers, faults, stats, the CA certificate."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from local.emulator.context import emulator
from local.emulator.identity import identity_from
from local.emulator.problems import bad_request

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")


@blueprint.post("/signing-sessions/<session_id>/sign")
def sign(session_id: str):
    """Sign as the JSON body's {name, nationalIdentificationNumber}; without a body, as the expected signer."""
    raw = request.get_data()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as error:
        raise bad_request(
            f"The body must be JSON {{name, nationalIdentificationNumber}}: {error}."
        ) from error
    return jsonify(emulator().sign(session_id, identity_from(body)))


@blueprint.post("/signing-sessions/<session_id>/<any(reject, cancel):action>")
def end(session_id: str, action: str):
    return jsonify(emulator().end(session_id, action))


@blueprint.get("/faults")
def get_faults():
    return jsonify(emulator().injector.faults.as_dict())


@blueprint.put("/faults")
def put_faults():
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        raise bad_request("The body must be a JSON object of fault settings.")
    try:
        faults = emulator().injector.update(changes)
    except (TypeError, ValueError) as error:
        raise bad_request(str(error)) from error
    return jsonify(faults.as_dict())


@blueprint.get("/stats")
def stats():
    return jsonify(emulator().stats.snapshot())


@blueprint.post("/reset-stats")
def reset_stats():
    em = emulator()
    em.stats.reset()
    return jsonify(em.stats.snapshot())


@blueprint.get("/ca.pem")
def ca_pem():
    return Response(emulator().ca_pem(), mimetype="application/x-pem-file")
