"""The emulator's configuration: credentials, webhook delivery, packaging, faults and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

# url: the delivery carries nothing but the body (Signicat documents no delivery authentication, so the
# receiver's URL holds its secret); hmac: HMAC-SHA256 of the body in webhook_signature_header;
# token: the secret itself in webhook_token_header.
WEBHOOK_AUTH_MODES = ("url", "hmac", "token")
# How a collection's package event names what was packaged (not public): "collection" sends one event with
# eventData.id = the collection's id; "sessions" sends one event per session of the collection.
COLLECTION_EVENT_SHAPES = ("collection", "sessions")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Faults:
    """Failures to inject, each rate a probability in [0, 1] drawn from a seeded random generator."""

    error_rate: float = 0.0  # API calls answer 503 before doing anything
    throttle_rate: float = 0.0  # API calls answer 429 with Retry-After
    retry_after: int = 1  # seconds, sent with each 429
    latency: float = 0.0  # seconds added to every API call
    duplicate_rate: float = 0.0  # a webhook delivery is sent twice
    reorder_rate: float = 0.0  # a delivery is held and sent after the next one
    reorder_hold: float = 1.0  # longest a held delivery waits for a successor, seconds
    drop_rate: float = 0.0  # a delivery is never sent
    packaging_delay: float = 0.0  # seconds added to the configured packaging delay
    packaging_failure_rate: float = 0.0  # packaging fails: package.failed instead of package.completed
    stall_rate: float = 0.0  # a document download sends half its body, then waits stall_seconds
    stall_seconds: float = 0.0  # how long a stalled download waits before the rest of its body

    RATES = (
        "error_rate",
        "throttle_rate",
        "duplicate_rate",
        "reorder_rate",
        "drop_rate",
        "packaging_failure_rate",
        "stall_rate",
    )

    def __post_init__(self) -> None:
        for name in self.RATES:
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
        if (
            not isinstance(self.retry_after, int)
            or isinstance(self.retry_after, bool)
            or self.retry_after < 0
        ):
            raise ValueError(f"retry_after must be a whole number of seconds >= 0, got {self.retry_after!r}")
        for name in ("latency", "reorder_hold", "packaging_delay", "stall_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with the given fields changed; unknown names are refused."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(
                f"unknown fault settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return Faults(**{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class EmulatorConfig:
    client_id: str = "emulator-client"
    client_secret: str = "emulator-secret"  # noqa: S105 - a local test credential
    token_lifetime: int = 600  # seconds, as Signicat's default
    public_base_url: str | None = None  # where signers reach the emulator; EmulatorServer fills it in
    webhook_urls: list[str] = field(default_factory=list)
    webhook_secret: str = ""
    webhook_auth_mode: str = "url"
    webhook_signature_header: str = "X-Signicat-Signature"
    webhook_token_header: str = "X-Webhook-Token"  # noqa: S105 - a header name
    packaging_delay: float = 0.2  # seconds between the last signature and packaging
    collection_event_shape: str = "collection"
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    account_id: str = "a-emulator-account"
    event_ttl: float = 120.0  # seconds from an event's timestamp to its expiresAt
    retry_initial_delay: float = 0.5  # first webhook retry; doubles up to retry_max_delay
    retry_max_delay: float = 10.0
    delivery_timeout: float = 5.0
    document_ttl: float = 1800.0  # an uploaded document unused by a session is deleted after this
    clock: Callable[[], datetime] = utc_now

    def __post_init__(self) -> None:
        if self.webhook_auth_mode not in WEBHOOK_AUTH_MODES:
            raise ValueError(
                f"webhook_auth_mode must be one of {WEBHOOK_AUTH_MODES}, got {self.webhook_auth_mode!r}"
            )
        if not 1 <= self.token_lifetime <= 3600:
            raise ValueError(f"token_lifetime must be 1..3600 seconds, got {self.token_lifetime!r}")
        if self.collection_event_shape not in COLLECTION_EVENT_SHAPES:
            raise ValueError(
                f"collection_event_shape must be one of {COLLECTION_EVENT_SHAPES}, "
                f"got {self.collection_event_shape!r}"
            )
        if self.webhook_urls and self.webhook_auth_mode != "url" and not self.webhook_secret:
            raise ValueError(f"webhook_secret is required for webhook_auth_mode {self.webhook_auth_mode!r}")
        if isinstance(self.faults, dict):
            self.faults = Faults(**self.faults)
