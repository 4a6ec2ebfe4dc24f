"""A schedule event source: invoke a function with EventBridge's "Scheduled Event" every period.

The template's `rate(...)` expression sets the period; `LOCAL_SCHEDULE_SECONDS` (or `period=`) overrides it,
so a five-minute reconciler can run every second offline. `cron(...)` expressions are not timed offline:
they fire only through the override or `fire()`. Like an asynchronous Lambda invocation, a failed run is
logged and not retried here; the next period runs again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.stack import LocalStack
    from local.template import Function, Resolver, ScheduleEvent

from local.background import Background

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
PERIOD_VARIABLE = "LOCAL_SCHEDULE_SECONDS"
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """The schedule expression cannot be turned into a period."""


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of a `rate(N unit)` expression; None for `cron(...)`, which has no fixed period."""
    expression = expression.strip()
    if expression.startswith("cron("):
        return None
    match = _RATE.match(expression)
    if match is None:
        raise ScheduleError(f"not a schedule expression this stack understands: {expression!r}")
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    if value < 1 or (value == 1) != (match.group(2) == unit):
        # EventBridge refuses "rate(1 minutes)", "rate(5 minute)" and "rate(0 ...)"; so do we.
        raise ScheduleError(f"not a valid rate expression: {expression!r}")
    return float(value * _UNIT_SECONDS[unit])


def scheduled_event(rule_arn: str, region: str, account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    """The event EventBridge sends a function for one run of a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleEventSource(Background):
    """Calls `invoke(event)` every `period` seconds in a thread (never, if period is None) and on `fire()`."""

    def __init__(
        self,
        invoke: Callable[[Any], Any],
        *,
        period: float | None,
        rule_arn: str,
        region: str,
        input: Any = None,
        name: str = "schedule-source",
    ) -> None:
        if period is not None and period <= 0:
            raise ValueError(f"period must be positive, got {period}")
        self._invoke = invoke
        self.period = period
        self.rule_arn = rule_arn
        self._region = region
        self._input = input
        self.name = name
        super().__init__()

    def event(self) -> Any:
        """The payload of one run: the rule's constant Input when it has one, else the Scheduled Event."""
        if self._input is None:
            return scheduled_event(self.rule_arn, self._region)
        return json.loads(self._input) if isinstance(self._input, str) else self._input

    def fire(self) -> Any:
        """Run the function now, in the caller's thread; answers its result, raises its error."""
        return self._invoke(self.event())

    def start(self) -> ScheduleEventSource:
        if self.period is not None:  # without a period it only runs when fired
            self._begin()
        return self

    def _run(self) -> None:
        assert self.period is not None
        while not self._stopping.wait(self.period):
            try:
                self.fire()
            except Exception as error:
                log.warning("%s: scheduled run failed: %s", self.name, error)


def period_from_environment(expression: str, environ: Any = None) -> float | None:
    """The override from LOCAL_SCHEDULE_SECONDS when set, else the expression's own rate."""
    environ = os.environ if environ is None else environ
    override = environ.get(PERIOD_VARIABLE)
    if override:
        try:
            return float(override)
        except ValueError:
            raise ScheduleError(f"{PERIOD_VARIABLE} must be a number of seconds, got {override!r}") from None
    return rate_seconds(expression)


def start_schedule_source(
    stack: LocalStack, function: Function, event: ScheduleEvent, resolver: Resolver
) -> ScheduleEventSource:
    """LocalStack's starter for a function's Schedule / ScheduleV2 event."""
    expression = str(resolver.resolve(event.schedule))
    period = period_from_environment(expression)
    if period is None:
        log.warning("%s.%s: %s runs only on fire() offline", function.logical_id, event.name, expression)
    rule = f"{stack.prefix}-{function.logical_id}-{event.name}"
    source = ScheduleEventSource(
        stack.functions[function.logical_id].invoke,
        period=period,
        rule_arn=f"arn:aws:events:{stack.region}:{ACCOUNT_ID}:rule/{rule}",
        region=stack.region,
        input=resolver.resolve(event.input),
        name=f"{function.logical_id}.{event.name}",
    )
    return stack.start_component(source)
