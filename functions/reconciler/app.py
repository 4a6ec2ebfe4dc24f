"""Reconciler (on a schedule): signings whose webhook may be lost are caught up from Signicat."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from signing_core import reconciling
from signing_core.settings import ReconcilerSettings

logger = Logger()


@cache
def settings() -> ReconcilerSettings:
    return ReconcilerSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    configured = settings()
    older_than = timedelta(minutes=configured.reconcile_after_minutes)
    counts = reconciling.reconcile(older_than, configured.signicat, configured.queue_url)
    logger.info("reconciled", extra=counts)
    return counts
