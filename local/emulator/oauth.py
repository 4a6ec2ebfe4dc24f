"""The OAuth2 token endpoint: client credentials in the form body or HTTP Basic (RFC 6749 section 4.4)."""

from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request

from local.emulator.context import emulator

SCOPE = "signicat-api"
TOKEN_PATH = "/auth/open/connect/token"  # noqa: S105  # nosec B105 - a URL path, not a secret

blueprint = Blueprint("oauth", __name__)


@blueprint.post(TOKEN_PATH)
def token():
    if request.mimetype != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
    grant_type = request.form.get("grant_type")
    if not grant_type:
        return _error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _error(400, "unsupported_grant_type", "only client_credentials is supported")
    if not _client_authenticated():
        answer = _error(401, "invalid_client", "unknown client or wrong secret")
        answer.headers["WWW-Authenticate"] = 'Basic realm="signicat"'
        return answer
    scopes = request.form.get("scope", SCOPE).split()
    if any(scope != SCOPE for scope in scopes):
        return _error(400, "invalid_scope", f"the only scope is {SCOPE}")
    config = emulator().config
    return jsonify(
        access_token=emulator().issue_token(),
        token_type="Bearer",  # noqa: S106  # nosec B106 - the token type, not a secret
        expires_in=config.token_lifetime,
        scope=SCOPE,
    )


def _client_authenticated() -> bool:
    config = emulator().config
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        client_id, secret = basic.username or "", basic.password or ""
    else:
        client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    return hmac.compare_digest(client_id.encode(), config.client_id.encode()) and hmac.compare_digest(
        secret.encode(), config.client_secret.encode()
    )


def _error(status: int, error: str, description: str):
    answer = jsonify(error=error, error_description=description)
    answer.status_code = status
    return answer
