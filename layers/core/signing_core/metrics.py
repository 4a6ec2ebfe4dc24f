"""Business metrics: one line of CloudWatch's embedded metric format (EMF) per event, where the event happens.

CloudWatch Logs turns each line into a metric (no PutMetricData call, no permission for it). The functions
that load Powertools send the lines through Powertools Metrics (`use_powertools`); the webhook, which loads
no Powertools for its cold start, through `write_emf_line`: the same JSON line, written with the stdlib (a test
holds the two equal). Namespace and service come from the environment Powertools reads
(POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME: the template's Globals). A metric never fails the work
it describes: a line that cannot be written is logged and dropped.

docs/observability.md lists every metric, its dimensions and where it is emitted.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

COUNT = "Count"
MILLISECONDS = "Milliseconds"

# Names (docs/observability.md); the dashboard and the alarms in template.yaml use the same.
SIGNINGS_STARTED = "SigningsStarted"
SIGNINGS_ENDED = {
    "COMPLETED": "SigningsCompleted",
    "FAILED": "SigningsFailed",
    "REJECTED": "SigningsRejected",
    "EXPIRED": "SigningsExpired",
    "CANCELLED": "SigningsCancelled",
}
WEBHOOK_ACCEPTED = "WebhookAccepted"
WEBHOOK_REFUSED = "WebhookRefused"
WEBHOOK_DUPLICATE = "WebhookDuplicate"
SIGNICAT_ERRORS = "SignicatErrors"
SIGN_TO_STORED = "SignToStoredLatency"
PACKAGE_EVENTS_DEFERRED = "PackageEventsDeferred"
COLD_START = "ColdStart"

# Dimensions.
ENTRY_POINT = "EntryPoint"
API = "Api"
DROP_FOLDER = "DropFolder"
STATUS = "Status"

Emitter = Callable[[str, str, float, Mapping[str, str], Mapping[str, Any]], None]


def entry_point(source: Mapping[str, Any] | None) -> str:
    """Where a signing was started: the drop folder records its S3 object as the source, the API none."""
    return DROP_FOLDER if source else API


def count(name: str, *, dimensions: Mapping[str, str] | None = None, **metadata: Any) -> None:
    """One occurrence of `name`; `metadata` (ids) rides along as keys of the line, not as dimensions."""
    emit(name, COUNT, 1, dimensions or {}, metadata)


def milliseconds(name: str, value: float, **metadata: Any) -> None:
    emit(name, MILLISECONDS, round(value, 3), {}, metadata)


def emit(
    name: str, unit: str, value: float, dimensions: Mapping[str, str], metadata: Mapping[str, Any]
) -> None:
    try:
        _emitter(name, unit, value, dimensions, metadata)
    except Exception:
        logger.warning("metric %s not written", name, exc_info=True)


def emf_line(
    name: str,
    unit: str,
    value: float,
    dimensions: Mapping[str, str],
    metadata: Mapping[str, Any],
    *,
    namespace: str,
    service: str | None,
    timestamp_ms: int | None = None,
) -> str:
    """The line Powertools' `single_metric` prints for the same metric: its keys, their order, its separators."""
    all_dimensions = {**dimensions, **({"service": service} if service else {})}
    document = {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(all_dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        **all_dimensions,
        **metadata,
        name: [float(value)],
    }
    return json.dumps(document, separators=(",", ":"))


def write_emf_line(
    name: str, unit: str, value: float, dimensions: Mapping[str, str], metadata: Mapping[str, Any]
) -> None:
    """The stdlib writer: the line on stdout, which the Lambda runtime sends to CloudWatch Logs as it is."""
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    if not namespace:
        raise ValueError("POWERTOOLS_METRICS_NAMESPACE is not set: no namespace for the metric")
    service = os.environ.get("POWERTOOLS_SERVICE_NAME")
    print(emf_line(name, unit, value, dimensions, metadata, namespace=namespace, service=service), flush=True)


_emitter: Emitter = write_emf_line


def use(emitter: Emitter) -> None:
    global _emitter
    _emitter = emitter


def use_powertools() -> Any:
    """Send the core's metrics through Powertools Metrics; answers the `Metrics` for the handler's decorator
    (`@metrics.log_metrics(capture_cold_start_metric=True)` records the cold starts)."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import single_metric

    def through_powertools(name, unit, value, dimensions, metadata) -> None:
        with single_metric(name=name, unit=unit, value=value, default_dimensions=dict(dimensions)) as metric:
            for key, item in metadata.items():
                metric.add_metadata(key, item)

    use(through_powertools)
    # Every metric is its own line, so the handler's metric set stays empty: that is no reason for a warning.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    return Metrics()


class ColdStart:
    """The webhook's cold-start metric, as Powertools' `capture_cold_start_metric` writes it: once per
    container, on its first invocation, with the function's name."""

    def __init__(self) -> None:
        self._pending = True

    def record(self, context: Any) -> None:
        if not self._pending:
            return
        self._pending = False
        function_name = getattr(context, "function_name", None) or os.environ.get(
            "AWS_LAMBDA_FUNCTION_NAME", ""
        )
        emit(COLD_START, COUNT, 1, {"function_name": function_name}, {})
