"""RFC 7807 problem answers, shaped like the Sign API's."""

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
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.invalid_params = invalid_params or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_TYPE_BASE + self.code.lower().replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            "traceId": uuid.uuid4().hex,
            "invalidParams": self.invalid_params,
        }

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()),
            status=self.status,
            mimetype="application/problem+json",
            headers=self.headers,
        )


def invalid(params: list[dict[str, str]], detail: str = "The request has invalid parameters.") -> ApiProblem:
    return ApiProblem(400, "VALIDATION_ERROR", "Validation error", detail, params)


def param(name: str, reason: str) -> dict[str, str]:
    return {"name": name, "reason": reason}


def bad_request(detail: str) -> ApiProblem:
    return ApiProblem(400, "BAD_REQUEST", "Bad request", detail)


def not_found(what: str, ident: str) -> ApiProblem:
    return ApiProblem(404, "NOT_FOUND", "Not found", f"{what} {ident} does not exist.")


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "UNAUTHORIZED",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
