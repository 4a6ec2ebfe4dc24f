"""RFC 7807 problem answers, shaped like the Sign API's: lowercase `code`, `invalidParams` when there are any."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, json

PROBLEM_TYPE_BASE = "https://api.signicat.com/sign/problems/"


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        invalid_params: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code.lower(), title, detail
        self.invalid_params = invalid_params or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body = {
            "type": PROBLEM_TYPE_BASE + self.code.replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            "traceId": uuid.uuid4().hex,
        }
        if self.invalid_params:
            body["invalidParams"] = self.invalid_params
        return body

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()),
            status=self.status,
            mimetype="application/problem+json",
            headers=self.headers,
        )


def invalid(params: list[dict[str, str]], detail: str = "The request has invalid parameters.") -> ApiProblem:
    return ApiProblem(400, "invalid_request_parameter", "Invalid request parameter", detail, params)


def param(name: str, reason: str) -> dict[str, str]:
    return {"name": name, "reason": reason}


def bad_request(detail: str) -> ApiProblem:
    return ApiProblem(400, "bad_request", "Bad request", detail)


def unsupported_media_type(detail: str) -> ApiProblem:
    return ApiProblem(415, "unsupported_media_type", "Unsupported media type", detail)


def not_found(what: str, ident: str) -> ApiProblem:
    return ApiProblem(404, "not_found", "Not found", f"{what} {ident} does not exist.")


def conflict(detail: str) -> ApiProblem:
    return ApiProblem(409, "conflict", "Conflict", detail)


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "invalid_token",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
