"""Reconciler (on a schedule): signings whose webhook may be lost are caught up from Signicat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from signing_core import reconciling
from signing_core.settings import env_int

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    older_than = timedelta(minutes=env_int("RECONCILE_AFTER_MINUTES", 30))
    counts = reconciling.reconcile(older_than)
    logger.info("reconciled", extra=counts)
    return counts
