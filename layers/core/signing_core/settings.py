"""Configuration: the environment read once per container into typed settings, with errors naming the variable.

Each function's handler builds its own settings on first use (ApiSettings, StartSettings for the intake,
WorkerSettings, ReconcilerSettings, VerifierSettings; the webhook's are in webhook.py) and passes them, or values from them,
to the use cases. The template's Globals, which every function has (TABLE_NAME, RETENTION_DAYS,
EVENT_BUS_NAME), are read once by `common()` for the repository, idempotency and outcomes.
docs/architecture.md lists every variable. Defaults here are the product's; the template sets the rest.
The settings are NamedTuples, immutable like frozen dataclasses: every function defines them all at init, and a
NamedTuple class is made in a seventh of a dataclass's time (cold starts are benchmarked, bench/coldstart.py).
"""

from __future__ import annotations

import os
from functools import cache
from typing import NamedTuple


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or malformed."""


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def env_optional(name: str) -> str | None:
    """A variable that may be absent or empty (an empty template parameter): None then."""
    return os.environ.get(name) or None


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None


class CommonSettings(NamedTuple):
    """What every function has: the signings table, how long a record is kept, where final states go."""

    table_name: str
    retention_days: int
    event_bus_name: str

    @classmethod
    def from_env(cls) -> CommonSettings:
        return cls(
            table_name=env("TABLE_NAME"),
            retention_days=env_int("RETENTION_DAYS", 400),
            event_bus_name=env_optional("EVENT_BUS_NAME") or "default",
        )


@cache
def common() -> CommonSettings:
    """The common settings, read once per container (a failure is not cached: the next call reads again)."""
    return CommonSettings.from_env()


def reset() -> None:
    """Forget the common settings (tests change the environment between cases)."""
    common.cache_clear()


class SignicatSettings(NamedTuple):
    api_url: str
    token_url: str
    secret_id: str

    @classmethod
    def from_env(cls) -> SignicatSettings:
        return cls(
            api_url=env("SIGNICAT_API_URL", "https://api.signicat.com/sign").rstrip("/"),
            token_url=env("SIGNICAT_TOKEN_URL", "https://api.signicat.com/auth/open/connect/token"),
            secret_id=env("SIGNICAT_SECRET_ARN"),
        )


# A start's uploads to Signicat run in threads. A start has at most 20 documents (the API's limit): all of them
# at once make its uploads last as long as the slowest one (10 would make two rounds: bench.starts measures
# 1.46 against 1.5 at 20 documents); Signicat's rate limits are undocumented, and a 429 is retried after its
# Retry-After. The client's connection pool keeps one connection per concurrent call.
DEFAULT_UPLOAD_CONCURRENCY = 20
MAX_UPLOAD_CONCURRENCY = 20
# API Gateway gives up after 29 s: past 10 MiB of uploaded documents a start is finished out of band
# (docs/architecture.md, "Large starts", says why this much).
DEFAULT_DEFER_START_BYTES = 10 * 1024 * 1024


class StartSettings(NamedTuple):
    """Starting a signing (the API and the intake): Signicat, the defaults of a request, the upload limit."""

    signicat: SignicatSettings
    default_identity_provider: str | None  # None: every provider of the account
    default_language: str
    default_sender_display_name: str | None  # shown to signers as the sender; None: Signicat's own default
    max_upload_bytes: int  # the largest uploaded or dropped document
    upload_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY  # a start's documents uploaded to Signicat at once

    @classmethod
    def from_env(cls) -> StartSettings:
        concurrency = env_int("UPLOAD_CONCURRENCY", DEFAULT_UPLOAD_CONCURRENCY)
        if not 1 <= concurrency <= MAX_UPLOAD_CONCURRENCY:
            raise ConfigurationError(
                f"environment variable UPLOAD_CONCURRENCY must be 1 to {MAX_UPLOAD_CONCURRENCY}, got {concurrency}"
            )
        return cls(
            signicat=SignicatSettings.from_env(),
            default_identity_provider=env_optional("DEFAULT_IDENTITY_PROVIDER"),
            default_language=env_optional("DEFAULT_LANGUAGE") or "en",
            default_sender_display_name=env_optional("SENDER_DISPLAY_NAME"),
            max_upload_bytes=env_int("MAX_UPLOAD_BYTES", 50 * 1024 * 1024),
            upload_concurrency=concurrency,
        )


class ApiSettings(NamedTuple):
    start: StartSettings
    bucket: str  # signed documents and uploads
    download_url_ttl_seconds: int
    max_document_bytes: int  # the largest inline document
    max_request_bytes: int  # a larger body is answered 413 before it is parsed
    start_queue_url: str | None = None  # where large starts are finished (deferred_starting.py); None: never
    defer_start_bytes: int = (
        DEFAULT_DEFER_START_BYTES  # a start with more uploaded bytes than this is deferred
    )

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            start_queue_url=env_optional("START_QUEUE_URL"),
            defer_start_bytes=env_int("DEFER_START_BYTES", DEFAULT_DEFER_START_BYTES),
            start=StartSettings.from_env(),
            bucket=env("DOCUMENTS_BUCKET"),
            download_url_ttl_seconds=env_int("DOWNLOAD_URL_TTL_SECONDS", 900),
            max_document_bytes=env_int("MAX_DOCUMENT_BYTES", 4_500_000),
            # Inline documents travel base64 inside a Lambda payload (6 MB): beyond this, use an upload.
            max_request_bytes=env_int("MAX_REQUEST_BYTES", 6_000_000),
        )


class StartWorkerSettings(NamedTuple):
    start: StartSettings
    bucket: str  # where the deferred start's documents wait under uploads/
    max_attempts: int  # the attempt that fails after these many ends the signing FAILED

    @classmethod
    def from_env(cls) -> StartWorkerSettings:
        return cls(
            start=StartSettings.from_env(),
            bucket=env("DOCUMENTS_BUCKET"),
            max_attempts=env_int("MAX_START_ATTEMPTS", 3),
        )


class WorkerSettings(NamedTuple):
    signicat: SignicatSettings
    bucket: str  # where the signed PAdES is stored
    queue_url: str  # the package queue: a deferred message is made visible again there (no sqs:GetQueueUrl)
    retry_delay_seconds: int  # first backoff of a deferred message

    @classmethod
    def from_env(cls) -> WorkerSettings:
        return cls(
            signicat=SignicatSettings.from_env(),
            bucket=env("DOCUMENTS_BUCKET"),
            queue_url=env("QUEUE_URL"),
            retry_delay_seconds=env_int("RETRY_DELAY_SECONDS", 5),
        )


class ReconcilerSettings(NamedTuple):
    signicat: SignicatSettings
    queue_url: str  # the package-events queue
    reconcile_after_minutes: int  # a signing unchanged this long is checked

    @classmethod
    def from_env(cls) -> ReconcilerSettings:
        return cls(
            signicat=SignicatSettings.from_env(),
            queue_url=env("QUEUE_URL"),
            reconcile_after_minutes=env_int("RECONCILE_AFTER_MINUTES", 30),
        )


class VerifierSettings(NamedTuple):
    """The verifier's: where the trust roots every stored PAdES must chain to are kept (an SSM parameter)."""

    trust_roots_parameter: str

    @classmethod
    def from_env(cls) -> VerifierSettings:
        return cls(trust_roots_parameter=env("TRUST_ROOTS_PARAMETER"))
