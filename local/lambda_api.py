"""Lambda's Invoke API for the offline stack's functions, like `sam local start-lambda`: boto3's lambda client
and `aws lambda invoke --endpoint-url` work against it (`make invoke` uses it). Like sam local, it checks no
signature: the functions it runs still call AWS with their own roles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from werkzeug.wrappers import Request, Response

from local.gateway import LoopbackServer
from local.rie import FunctionError

INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"


class LambdaApi(LoopbackServer):
    """POST /2015-03-31/functions/<logical id>/invocations with the event as body; the answer as Lambda's."""

    name = "lambda-api"

    def __init__(self, invoke: Callable[[str, Any], Any], functions: Collection[str], **server: Any) -> None:
        self._invoke = invoke
        self._functions = functions
        super().__init__(**server)

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method != "POST" or not (path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX)):
            return _error(404, "UnknownOperationException", f"no such operation: {request.method} {path}")
        name = path[len(INVOKE_PREFIX) : -len(INVOKE_SUFFIX)]
        if name not in self._functions:
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        try:
            event = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
        try:
            result = self._invoke(name, event)
        except FunctionError as error:
            payload = {"errorType": error.error_type, "errorMessage": error.error_message}
            if error.stack_trace:
                payload["stackTrace"] = error.stack_trace
            # Lambda answers 200 and says in a header that the function failed.
            return Response(
                json.dumps(payload),
                content_type="application/json",
                headers={"X-Amz-Function-Error": "Unhandled"},
            )
        return Response(json.dumps(result), content_type="application/json")


def _error(status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "message": message})
    return Response(
        body, status=status, content_type="application/json", headers={"x-amzn-ErrorType": error_type}
    )
