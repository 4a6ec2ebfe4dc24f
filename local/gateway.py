"""An HTTP front like API Gateway's REST API: routes from the template, proxy events (version 1.0) to
functions, proxy results back to HTTP. Like `sam local start-api` it does not enforce IAM auth.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.template import ApiEvent, Template

log = logging.getLogger(__name__)

DEFAULT_STAGE = "Prod"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
ACCOUNT_ID = "123456789012"

Invoke = Callable[[str, dict], Any]


@dataclass(frozen=True)
class Route:
    path: str  # API Gateway resource, e.g. /signings/{signingId}
    method: str  # GET, POST, ... or ANY
    function: str  # logical id of the function behind it


# API Gateway's default status for each of its own responses (a gateway response without StatusCode keeps it).
DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "EXPIRED_TOKEN": 403,  # nosec B105 - a response type and its status
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,  # nosec B105 - a response type and its status
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}


@dataclass(frozen=True)
class GatewayResponse:
    """A template's customization of one of API Gateway's own responses."""

    status: int | None = None  # StatusCode; None keeps the response type's default
    headers: Mapping[str, str] = field(default_factory=dict)  # static values, without their quotes
    templates: Mapping[str, str] = field(default_factory=dict)  # content type → mapping template


@dataclass(frozen=True)
class ApiSettings:
    stage: str = DEFAULT_STAGE
    binary_media_types: tuple[str, ...] = ()
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)


def render_gateway_response(template: str, response_type: str, message: str, request_id: str) -> str:
    """A gateway response's mapping template with the substitutions API Gateway makes (no VTL): the
    messageString is the message as a quoted JSON string, the rest are bare text."""
    values = {
        "$context.error.messageString": json.dumps(message),
        "$context.error.message": message,
        "$context.error.responseType": response_type,
        "$context.requestId": request_id,
    }
    pattern = re.compile("|".join(re.escape(name) for name in sorted(values, key=len, reverse=True)))
    return pattern.sub(lambda match: values[match.group(0)], template)


def routes_from_template(template: Template) -> list[Route]:
    return [
        Route(event.path, event.method, function.logical_id)
        for function in template.functions.values()
        for event in function.events_of(ApiEvent)
    ]


def api_settings(template: Template) -> ApiSettings:
    """Stage and binary media types of the template's REST API (Globals.Api, then the first Serverless::Api)."""
    properties = dict((template.document.get("Globals") or {}).get("Api") or {})
    apis = template.resources_of_type("AWS::Serverless::Api")
    if apis:
        properties.update(next(iter(apis.values())).get("Properties") or {})
    stage = properties.get("StageName")
    types = tuple(str(item).replace("~1", "/") for item in properties.get("BinaryMediaTypes") or ())
    responses = {
        response_type: GatewayResponse(
            status=int(spec["StatusCode"]) if spec.get("StatusCode") else None,
            headers={
                name: str(value).strip("'")
                for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items()
            },
            templates=dict(spec.get("ResponseTemplates") or {}),
        )
        for response_type, spec in (properties.get("GatewayResponses") or {}).items()
    }
    return ApiSettings(stage if isinstance(stage, str) else DEFAULT_STAGE, types, responses)


def _rule_path(resource: str) -> tuple[str, list[str]]:
    """`/a/{id}/{proxy+}` → `/a/<p0>/<path:p1>`, with the parameter names in order."""
    names: list[str] = []
    parts = []
    for part in resource.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            names.append(name.rstrip("+"))
            parts.append(f"<{'path:' if greedy else ''}p{len(names) - 1}>")
        else:
            parts.append(part)
    return "/".join(parts), names


def gateway_response(
    settings: ApiSettings,
    response_type: str,
    message: str,
    status: int | None = None,
    error_type: str | None = None,
) -> Response:
    """API Gateway's own answer of this type, as the template customizes it (or as API Gateway's default).

    A type the template does not list falls back to DEFAULT_4XX or DEFAULT_5XX, keeping its status."""
    status = status or DEFAULT_STATUS[response_type]
    fallback = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    custom = settings.gateway_responses.get(response_type) or settings.gateway_responses.get(fallback)
    request_id = str(uuid.uuid4())
    if custom is None or "application/json" not in custom.templates:
        response = Response(json.dumps({"message": message}), status=status, content_type="application/json")
    else:
        body = render_gateway_response(
            custom.templates["application/json"], response_type, message, request_id
        )
        response = Response(body, status=custom.status or status)
        response.headers["Content-Type"] = "application/json"
        response.headers.update(custom.headers)
    response.headers["x-amzn-RequestId"] = request_id
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    return response


def _is_binary(content_type: str, binary_media_types: Iterable[str]) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return bool(media_type) and any(
        fnmatch.fnmatch(media_type, pattern.lower()) for pattern in binary_media_types
    )


def to_event(
    request: Request, route: Route, path_parameters: Mapping[str, str], settings: ApiSettings
) -> dict[str, Any]:
    """The REST API proxy event (payload version 1.0) for one request."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name, []).append(value)
    query = {name: request.args.getlist(name) for name in request.args}
    raw = request.get_data(cache=False)
    body, is_base64 = _event_body(raw, request.content_type or "", settings.binary_media_types)
    now = time.time()
    request_id = str(uuid.uuid4())
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": route.path,
            "httpMethod": request.method,
            "path": f"/{settings.stage}{request.path}",
            "stage": settings.stage,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "domainName": request.host,
            "identity": {
                "sourceIp": request.remote_addr,
                "userAgent": request.user_agent.string or None,
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _event_body(raw: bytes, content_type: str, binary_media_types: Iterable[str]) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    if not _is_binary(content_type, binary_media_types):
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # API Gateway would mangle it; passing it base64-encoded keeps local runs debuggable
    return base64.b64encode(raw).decode("ascii"), True


def to_response(result: Any) -> Response | None:
    """An HTTP response from a proxy result; None for a malformed result (API Gateway's 502)."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        log.error("malformed Lambda proxy response: %.500r", result)
        return None
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    response = Response(data, status=result["statusCode"])
    response.headers.remove("Content-Type")
    multi = result.get("multiValueHeaders") or {}
    for name, values in multi.items():
        for value in values:
            response.headers.add(name, str(value))
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            response.headers[name] = str(value)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response


class _LoggingRequestHandler(WSGIRequestHandler):
    """One line per request on this module's logger, instead of werkzeug's print to stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s", self.requestline, code)


class LoopbackServer:
    """A threaded WSGI server on 127.0.0.1 that binds its port at once and serves from start() to stop()."""

    name = "http"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, self.wsgi_app, threaded=True, request_handler=_LoggingRequestHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def wsgi_app(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def start(self) -> Self:
        # A short poll interval makes stop() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Gateway(LoopbackServer):
    """`invoke(function_id, event)` runs the function behind a route."""

    name = "gateway"

    def __init__(
        self,
        routes: Iterable[Route],
        invoke: Invoke,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: ApiSettings | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._routes: list[tuple[Route, list[str]]] = []
        rules = []
        for index, route in enumerate(routes):
            rule_path, names = _rule_path(route.path)
            methods = None if route.method == "ANY" else [route.method]
            rules.append(Rule(rule_path, endpoint=index, methods=methods))
            self._routes.append((route, names))
        self._map = Map(rules, strict_slashes=False, merge_slashes=False)
        self._invoke = invoke
        self._settings = settings or ApiSettings()
        self._max_body_bytes = max_body_bytes
        super().__init__(host, port)

    def handle(self, request: Request) -> Response:
        try:
            index, arguments = self._map.bind_to_environ(request.environ).match()
        except HTTPException:
            # REST APIs answer an unknown resource or method this way, not with 404/405.
            return gateway_response(
                self._settings,
                "MISSING_AUTHENTICATION_TOKEN",
                "Missing Authentication Token",
                error_type="MissingAuthenticationTokenException",
            )
        if request.content_length and request.content_length > self._max_body_bytes:
            return gateway_response(self._settings, "REQUEST_TOO_LARGE", "Request Too Long")
        route, names = self._routes[index]
        path_parameters = {names[int(key[1:])]: value for key, value in arguments.items()}
        event = to_event(request, route, path_parameters, self._settings)
        try:
            response = to_response(self._invoke(route.function, event))
        except Exception:
            log.exception("%s failed for %s %s", route.function, request.method, request.path)
            response = None
        # A failed or malformed Lambda integration: 502, through the DEFAULT_5XX gateway response.
        return response or gateway_response(
            self._settings, "DEFAULT_5XX", "Internal server error", status=502
        )
