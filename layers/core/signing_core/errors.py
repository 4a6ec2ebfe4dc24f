"""Domain errors. Each adapter maps them to its own answer in one place (HTTP: RFC 7807 problem+json)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the use cases raise on purpose."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, detail: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class InvalidInput(DomainError):
    status = 400
    code = "INVALID_INPUT"


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class RetryLater(DomainError):
    """The work cannot be done yet (for example the PAdES is not packaged); the message comes back."""

    status = 503
    code = "RETRY_LATER"


class Unprocessable(DomainError):
    """Well-formed, but it cannot be done (for example an idempotency key reused for another request)."""

    status = 422
    code = "UNPROCESSABLE"
