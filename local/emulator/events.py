"""Signicat's event envelope and the webhook authentication header."""

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
    config: EmulatorConfig, event_name: str, session: dict[str, Any], now: datetime, **extra: Any
) -> dict[str, Any]:
    """The event as Signicat sends it: eventData.id is the session, externalId its externalReference."""
    return {
        "id": str(uuid.uuid4()),
        "timestamp": iso(now),
        "eventName": event_name,
        "sender": "signature",
        "eventData": {"id": session["id"], "externalId": session.get("externalReference"), **extra},
        "accountId": config.account_id,
        "organizationId": None,
        "expiresAt": iso(now + timedelta(seconds=config.event_ttl)),
        "isMockEvent": False,
        "tags": [],
    }


def auth_headers(config: EmulatorConfig, body: bytes) -> dict[str, str]:
    """HMAC-SHA256 of the raw body as hex, or the shared token, as docs/architecture.md describes."""
    if config.webhook_auth_mode == "token":
        return {config.webhook_token_header: config.webhook_secret}
    digest = hmac.new(config.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return {config.webhook_signature_header: digest}
