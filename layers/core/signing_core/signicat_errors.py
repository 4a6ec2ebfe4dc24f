"""Errors of the Sign API v2 client, apart from the client so that catching them does not import `requests`."""

from __future__ import annotations

from typing import Any

_ERROR_BODY_PREVIEW = 300


class SignicatError(Exception):
    """A failed call to Signicat: a non-2xx answer (problem+json or not), or an unusable one."""

    def __init__(
        self,
        status: int,
        *,
        type: str | None = None,
        title: str | None = None,
        code: str | None = None,
        detail: str | None = None,
        trace_id: str | None = None,
        invalid_params: list[dict] | None = None,
        operation: str | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.code = code
        self.detail = detail
        self.trace_id = trace_id
        self.invalid_params = invalid_params or []
        self.operation = operation  # what the client was doing, e.g. "creating the signing sessions"
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.code or self.title or 'ERROR'}: {self.detail or self.title or 'no detail'}"
        if self.status:
            text = f"{self.status} {text}"
        if self.trace_id:
            text += f" (traceId {self.trace_id})"
        return text

    def summary(self) -> str:
        """What failed, fit to show a caller: no URL, no request data, no exception text (those are logged)."""
        while_doing = f" while {self.operation}" if self.operation else ""
        if not self.status:
            return f"Signicat could not be reached{while_doing}"
        code = f" {self.code}" if self.code else ""
        return f"Signicat answered {self.status}{code}{while_doing}"

    @property
    def retryable(self) -> bool:
        """True when the same call may succeed later (throttled, server or network trouble)."""
        return self.status == 0 or self.status == 429 or self.status >= 500

    @classmethod
    def from_response(cls, response: Any) -> SignicatError:
        """Map an answer to its problem+json fields (OAuth `error`/`error_description` too)."""
        body = json_or_none(response)
        if not isinstance(body, dict):
            preview = " ".join(response.text[:_ERROR_BODY_PREVIEW].split())
            return cls(response.status_code, title=response.reason, detail=preview or response.reason)
        return cls(
            response.status_code,
            type=_str_or_none(body.get("type")),
            title=_str_or_none(body.get("title")),
            code=_str_or_none(body.get("code") or body.get("error")),
            detail=_str_or_none(body.get("detail") or body.get("error_description")),
            trace_id=_str_or_none(body.get("traceId")),
            invalid_params=[p for p in body.get("invalidParams") or [] if isinstance(p, dict)],
        )


class SignicatUnavailable(SignicatError):
    """Signicat could not be reached or did not answer in time (status 0, always retryable)."""


def json_or_none(response: Any) -> Any:
    """The answer's JSON body, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
