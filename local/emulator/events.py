"""Signicat's event envelope, the shapes of a collection's package event, and delivery authentication."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from typing import Any

from local.emulator.config import EmulatorConfig
from local.emulator.values import iso

PACKAGE_COMPLETED = "package.completed"
PACKAGE_FAILED = "package.failed"


def envelope(
    config: EmulatorConfig,
    event_name: str,
    subject_id: str,
    external_id: str | None,
    now: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """The event as Signicat sends it: eventData.id names what was packaged, externalId its externalReference."""
    return {
        "id": str(uuid.uuid4()),
        "timestamp": iso(now),
        "eventName": event_name,
        "sender": "signature",
        "eventData": {"id": subject_id, "externalId": external_id, **extra},
        "accountId": config.account_id,
        "organizationId": None,
        "expiresAt": iso(now + timedelta(seconds=config.event_ttl)),
        "isMockEvent": False,
        "tags": [],
    }


def session_event(
    config: EmulatorConfig, event_name: str, session: dict[str, Any], now: datetime, **extra: Any
) -> dict[str, Any]:
    """A session's event, as the integration guide shows it: eventData {id: session id, externalId}."""
    return envelope(config, event_name, session["id"], session.get("externalReference"), now, **extra)


def collection_events(
    config: EmulatorConfig,
    event_name: str,
    collection_id: str,
    sessions: list[dict[str, Any]],
    now: datetime,
    **extra: Any,
) -> list[dict[str, Any]]:
    """A collection's event in the configured shape: one naming the collection (a collection has no
    externalReference, so externalId is null), or one per session naming that session."""
    if config.collection_event_shape == "sessions":
        return [session_event(config, event_name, session, now, **extra) for session in sessions]
    return [envelope(config, event_name, collection_id, None, now, **extra)]


def auth_headers(config: EmulatorConfig, body: bytes) -> dict[str, str]:
    """Nothing in url mode (the URL carries the receiver's secret); the hex HMAC-SHA256 of the raw body in
    hmac mode; the shared secret itself in token mode."""
    if config.webhook_auth_mode == "url":
        return {}
    if config.webhook_auth_mode == "token":
        return {config.webhook_token_header: config.webhook_secret}
    digest = hmac.new(config.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return {config.webhook_signature_header: digest}
