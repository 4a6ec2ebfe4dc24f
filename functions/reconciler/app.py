"""Reconciler (on a schedule): signings whose webhook or announcement may be lost are caught up, for as long as
the invocation has time."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from signing_core import metrics as core_metrics
from signing_core import reconciling, tracing
from signing_core.settings import ReconcilerSettings

logger = Logger()
# The core's stdlib loggers (signing_core.*) write through this one: the same JSON, level and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"signing_core"})
# The core's metrics through Powertools Metrics (EMF lines in this log); the handler records cold starts.
metrics = core_metrics.use_powertools()
# X-Ray: AWS calls and each Signicat call as subsegments (no user waits on this function's cold start).
tracer = tracing.use_powertools()


@cache
def settings() -> ReconcilerSettings:
    return ReconcilerSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    configured = settings()
    counts = reconciling.reconcile(
        timedelta(minutes=configured.reconcile_after_minutes),
        configured.signicat,
        configured.queue_url,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    logger.info("reconciled", extra=counts)
    return counts
