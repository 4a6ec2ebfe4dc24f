"""The Flask app: blueprints, request counting, API fault injection, problem+json errors."""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from local.emulator import api, control, oauth, signer_ui
from local.emulator.config import EmulatorConfig
from local.emulator.context import EXTENSION, emulator
from local.emulator.core import Emulator
from local.emulator.problems import ApiProblem

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 50 * 1024 * 1024
_COUNTED = "signicat_emulator.endpoint"  # the endpoint a request was counted under, until it is answered
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def create_app(config: EmulatorConfig | None = None) -> Flask:
    """The emulator as a Flask app; app.extensions['signicat_emulator'].close() stops its workers."""
    app = Flask("signicat_emulator")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # answer fields in the order Signicat's examples show
    app.extensions[EXTENSION] = Emulator(config or EmulatorConfig())
    for blueprint in (oauth.blueprint, api.blueprint, signer_ui.blueprint, control.blueprint):
        app.register_blueprint(blueprint)
    app.before_request(_count_and_inject_faults)
    app.teardown_request(_answered)
    app.register_error_handler(ApiProblem, lambda problem: problem.response())
    app.register_error_handler(HTTPException, _http_problem)
    app.register_error_handler(Exception, _unexpected)
    return app


def endpoint_name() -> str:
    """'METHOD /path/{arg}' for the matched route, e.g. 'GET /sign/signing-sessions/{session_id}'."""
    rule = request.url_rule.rule if request.url_rule else "<unmatched>"
    return request.method + " " + _RULE_ARG.sub(r"{\1}", rule)


def _is_api_call() -> bool:
    return request.path.startswith("/sign/") or request.path == oauth.TOKEN_PATH


def _count_and_inject_faults() -> None:
    if request.path.startswith("/_emulator/"):
        return
    em = emulator()
    request.environ[_COUNTED] = endpoint_name()
    em.stats.request(request.environ[_COUNTED])
    if not _is_api_call():
        return
    faults = em.injector.faults
    if faults.latency > 0:
        em.stats.fault("latency")
        time.sleep(faults.latency)
    if em.injector.roll("api", "throttle_rate", "throttle"):
        raise ApiProblem(
            429,
            "too_many_requests",
            "Too many requests",
            "Rate limit exceeded; retry later.",
            headers={"Retry-After": str(faults.retry_after)},
        )
    if em.injector.roll("api", "error_rate", "error"):
        raise ApiProblem(503, "service_unavailable", "Service unavailable", "Injected server error.")


def _answered(_error: BaseException | None) -> None:
    endpoint = request.environ.pop(_COUNTED, None)
    if endpoint is not None:
        emulator().stats.answered(endpoint)


def _http_problem(error: HTTPException):
    code = (error.name or "error").lower().replace(" ", "_")
    return ApiProblem(error.code or 500, code, error.name, error.description or error.name).response()


def _unexpected(error: Exception):
    """A bug answers like Signicat's own 500: a problem body, no stack trace."""
    log.exception("unexpected error on %s %s", request.method, request.path)
    return ApiProblem(500, "internal_server_error", "Internal server error", "Unexpected error.").response()
