"""POST /webhooks/signicat/{secret} (and /webhooks/signicat): Signicat event deliveries (API Gateway REST proxy
event in, proxy response out).

No gateway authorizer: the function authenticates every delivery and fails closed. Stdlib only at import
(no Powertools, no pydantic) to keep the cold start short; boto3 is loaded on first use.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from functools import cache
from typing import Any

from signing_core import metrics, problems, webhook
from signing_core.errors import DomainError, InvalidInput
from signing_core.settings import ConfigurationError
from signing_core.webhook_auth import SecretCache, Unauthenticated

# The runtime's own JSON log format (the template's LoggingConfig) writes these records, their keys included.
logger = logging.getLogger("signing_core.webhook")

STATUS_CODES = {webhook.ACCEPTED: 202, webhook.IGNORED: 200, webhook.DUPLICATE: 200}
# Powertools' cold-start metric, written with the stdlib (signing_core.metrics).
cold_start = metrics.ColdStart()


@cache
def _configured() -> tuple[webhook.WebhookSettings, SecretCache]:
    """Settings and the secret cache, once per container (a failure is not cached: the next call retries)."""
    settings = webhook.WebhookSettings.from_env()
    return settings, webhook.secret_cache(settings.secret_id)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    cold_start.record(context)
    try:
        settings, secrets = _configured()
        outcome = webhook.receive(_delivery(event), settings, secrets.get)
    except Unauthenticated:
        logger.warning("webhook delivery refused: not authenticated")
        metrics.count(metrics.WEBHOOK_REFUSED, status=401)
        return _problem(401, "The request is not authenticated.")
    except DomainError as error:
        if error.status < 500:  # refused: too large, not an event; a 503 is ours, and retried
            metrics.count(metrics.WEBHOOK_REFUSED, status=error.status)
        return _problem(error.status, error.detail)
    except ConfigurationError as error:
        logger.error("webhook misconfigured: %s", error)
        return _problem(503, "The webhook is not available; retry later.")
    except Exception:
        logger.exception("webhook failed")
        return _problem(503, "The webhook is not available; retry later.")
    return _response(STATUS_CODES[outcome], {"status": outcome}, "application/json")


def _delivery(event: dict[str, Any]) -> webhook.Delivery:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the body is not valid base64") from None
    else:
        # surrogatepass keeps undecodable input undecodable, so parsing refuses it instead of this line.
        raw = body.encode("utf-8", "surrogatepass")
    return webhook.Delivery(
        body=raw,
        headers=event.get("headers") or {},
        query=event.get("queryStringParameters") or {},
        path_secret=(event.get("pathParameters") or {}).get("secret"),
    )


def _problem(status: int, detail: str) -> dict[str, Any]:
    return _response(status, problems.problem(status, detail), problems.CONTENT_TYPE)


def _response(status: int, body: dict[str, Any], content_type: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }
