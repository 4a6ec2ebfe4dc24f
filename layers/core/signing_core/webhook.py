"""The webhook use case: verify a Signicat delivery, parse it, drop replays, and enqueue it for the worker.

Checks run cheapest first: size, authentication, parsing, event name, replay, enqueue. The body is never
trusted beyond `eventName` and `eventData.id` (a session's id or a collection's): the worker re-reads the
signing's sessions and collection from the API.
Nothing heavy is imported here, so the webhook function's cold start stays close to bare boto3.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from signing_core import aws, metrics, package_queue, webhook_auth
from signing_core.errors import InvalidInput, PayloadTooLarge, RetryLater
from signing_core.settings import ConfigurationError, env, env_int
from signing_core.signicat_wire import PACKAGE_COMPLETED, PACKAGE_FAILED

logger = logging.getLogger(__name__)

ACCEPTED_EVENTS = frozenset({PACKAGE_COMPLETED, PACKAGE_FAILED})
REPLAY_WINDOW_SECONDS = 7 * 24 * 3600
MAX_ID_LENGTH = 256

ACCEPTED = "accepted"
IGNORED = "ignored"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class WebhookSettings:
    table_name: str
    queue_url: str
    secret_id: str
    auth_mode: str
    signature_header: str
    token_header: str
    max_body_bytes: int

    @classmethod
    def from_env(cls) -> WebhookSettings:
        mode = env("WEBHOOK_AUTH_MODE", webhook_auth.URL_MODE).strip().lower()
        if mode not in webhook_auth.MODES:
            raise ConfigurationError(
                f"environment variable WEBHOOK_AUTH_MODE must be one of {', '.join(webhook_auth.MODES)}"
            )
        max_body_bytes = env_int("WEBHOOK_MAX_BODY_BYTES", 65536)
        if max_body_bytes <= 0:
            raise ConfigurationError("environment variable WEBHOOK_MAX_BODY_BYTES must be positive")
        return cls(
            table_name=env("TABLE_NAME"),
            queue_url=env("QUEUE_URL"),
            secret_id=env("WEBHOOK_SECRET_ARN"),
            auth_mode=mode,
            signature_header=env("WEBHOOK_SIGNATURE_HEADER", "X-Signicat-Signature"),
            token_header=env("WEBHOOK_TOKEN_HEADER", "X-Webhook-Token"),
            max_body_bytes=max_body_bytes,
        )


@dataclass(frozen=True)
class Delivery:
    """One webhook request as plain values: the raw body bytes, headers, query parameters, and the secret
    segment of the URL's path (None when the URL has none)."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    path_secret: str | None = None


def secret_cache(secret_id: str, ttl: float = 300.0) -> webhook_auth.SecretCache:
    """A cache of the webhook secrets held in Secrets Manager under `secret_id`."""

    def fetch() -> str:
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString")
        if not isinstance(value, str):
            raise ConfigurationError("webhook secret must be a string secret, not binary")
        return value

    return webhook_auth.SecretCache(fetch, ttl=ttl)


def receive(
    delivery: Delivery,
    settings: WebhookSettings,
    secrets: Callable[[], tuple[str, ...]],
    now: Callable[[], float] = time.time,
) -> str:
    """Handle one delivery: ACCEPTED, IGNORED or DUPLICATE; or a DomainError / ConfigurationError."""
    if len(delivery.body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"the body is larger than {settings.max_body_bytes} bytes")
    webhook_auth.authenticate(
        mode=settings.auth_mode,
        body=delivery.body,
        headers=delivery.headers,
        query=delivery.query,
        path_secret=delivery.path_secret,
        secrets=secrets(),
        signature_header=settings.signature_header,
        token_header=settings.token_header,
    )
    envelope = parse_envelope(delivery.body)
    event_id, event_name = envelope["id"], envelope["eventName"]
    if event_name not in ACCEPTED_EVENTS:
        _log("webhook event ignored", eventId=event_id, eventName=event_name)
        return IGNORED
    received = now()
    if not _remember(settings.table_name, event_id, _expiration(envelope, received)):
        _log("webhook event duplicate", eventId=event_id, eventName=event_name)
        metrics.count(metrics.WEBHOOK_DUPLICATE, eventId=event_id)
        return DUPLICATE
    _enqueue(settings, envelope, received)
    _log(
        "webhook event accepted",
        eventId=event_id,
        eventName=event_name,
        subjectId=envelope["eventData"]["id"],
    )
    metrics.count(metrics.WEBHOOK_ACCEPTED, eventId=event_id, subjectId=envelope["eventData"]["id"])
    return ACCEPTED


def parse_envelope(body: bytes) -> dict:
    """The event envelope, checked for the fields the product relies on; InvalidInput otherwise."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidInput("the body must be a JSON object")
    _require_id(envelope.get("id"), "id")
    if not isinstance(envelope.get("eventName"), str) or not envelope["eventName"]:
        raise InvalidInput("eventName must be a non-empty string")
    if not isinstance(envelope.get("eventData"), dict):
        raise InvalidInput("eventData must be an object")
    _require_id(envelope["eventData"].get("id"), "eventData.id")
    return envelope


def _require_id(value: object, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(f"{name} must be at most {MAX_ID_LENGTH} characters")


def _expiration(envelope: dict, now: float) -> int:
    """Keep the replay marker a week past the later of now and the event's expiresAt (its last retry)."""
    expires_at = envelope.get("expiresAt")
    latest = now
    if isinstance(expires_at, str):
        try:
            parsed = datetime.fromisoformat(expires_at)
        except ValueError:
            parsed = None  # an optional field: a malformed one only shortens nothing
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            latest = max(now, parsed.timestamp())
    return int(latest) + REPLAY_WINDOW_SECONDS


def _marker_key(event_id: str) -> dict:
    return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}}


def _remember(table_name: str, event_id: str, expiration: int) -> bool:
    """Put the replay marker; False if the event was already seen."""
    dynamodb = aws.client("dynamodb")
    try:
        dynamodb.put_item(
            TableName=table_name,
            Item={**_marker_key(event_id), "expiration": {"N": str(expiration)}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    except Exception as error:
        logger.exception(
            "webhook replay marker not written for event %s", event_id, extra={"eventId": event_id}
        )
        raise RetryLater("the event cannot be recorded now") from error
    return True


def _enqueue(settings: WebhookSettings, envelope: dict, received: float) -> None:
    """Send the queue message; on failure forget the marker, so the provider's retry is not a duplicate."""
    event_id = envelope["id"]
    try:
        package_queue.send(settings.queue_url, envelope, received)
    except Exception as error:
        logger.exception("webhook event %s not enqueued", event_id, extra={"eventId": event_id})
        _forget(settings.table_name, event_id)
        raise RetryLater("the event cannot be queued now") from error


def _forget(table_name: str, event_id: str) -> None:
    try:
        aws.client("dynamodb").delete_item(TableName=table_name, Key=_marker_key(event_id))
    except Exception:
        # The provider's retry will read as a duplicate; the reconciler still finds the stale signing.
        logger.exception(
            "webhook replay marker not removed for event %s", event_id, extra={"eventId": event_id}
        )


def _log(message: str, **fields: str) -> None:
    """One INFO line; its fields are keys of the JSON record (the runtime's LoggingConfig format) too."""
    logger.info("%s: %s %s", message, fields["eventName"], fields["eventId"], extra=fields)
