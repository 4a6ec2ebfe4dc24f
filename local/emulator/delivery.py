"""Webhook delivery: one POST per event and URL, retried with exponential backoff until expiresAt.

Delivery faults act on the first attempt: drop (never sent), duplicate (sent twice), reorder (held
until the next delivery has gone, or until reorder_hold passes).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import requests

from local.emulator.config import EmulatorConfig
from local.emulator.events import auth_headers
from local.emulator.faults import FaultInjector, Stats
from local.emulator.scheduler import Scheduler
from local.emulator.values import parse_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Delivery:
    url: str
    body: bytes
    expires_at: datetime
    attempt: int = 0


class Deliverer:
    def __init__(self, config: EmulatorConfig, injector: FaultInjector, stats: Stats) -> None:
        self._config = config
        self._injector = injector
        self._stats = stats
        self._scheduler = Scheduler("emulator-delivery")
        self._http = requests.Session()
        self._held: _Delivery | None = None  # touched only on the scheduler's thread

    def publish(self, event: dict[str, Any]) -> None:
        """Queue the event for every configured webhook URL."""
        body = json.dumps(event, separators=(",", ":")).encode()
        expires_at = parse_iso(event["expiresAt"])
        for url in self._config.webhook_urls:
            delivery = _Delivery(url, body, expires_at)
            self._scheduler.call_later(0, lambda d=delivery: self._first(d))

    def stop(self) -> None:
        self._scheduler.stop()
        self._http.close()

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    def _first(self, delivery: _Delivery) -> None:
        if self._injector.roll("delivery", "drop_rate", "drop"):
            self._stats.delivery("dropped")
            return
        if self._held is None and self._injector.roll("delivery", "reorder_rate", "reorder"):
            self._held = delivery
            self._stats.delivery("reordered")
            hold = self._injector.faults.reorder_hold
            self._scheduler.call_later(hold, lambda: self._release(delivery))
            return
        self._attempt(delivery)
        if self._injector.roll("delivery", "duplicate_rate", "duplicate"):
            self._stats.delivery("duplicated")
            self._attempt(delivery)
        if self._held is not None:
            self._release(self._held)

    def _release(self, delivery: _Delivery) -> None:
        if self._held is delivery:
            self._held = None
            self._attempt(delivery)

    def _attempt(self, delivery: _Delivery) -> None:
        if self._config.clock() >= delivery.expires_at:
            self._stats.delivery("expired")
            return
        self._stats.delivery("attempted")
        if self._post(delivery):
            self._stats.delivery("succeeded")
            return
        self._stats.delivery("failed")
        delay = min(self._config.retry_initial_delay * 2**delivery.attempt, self._config.retry_max_delay)
        retry = replace(delivery, attempt=delivery.attempt + 1)
        self._scheduler.call_later(delay, lambda: self._attempt(retry))

    def _post(self, delivery: _Delivery) -> bool:
        headers = {"Content-Type": "application/json", **auth_headers(self._config, delivery.body)}
        try:
            answer = self._http.post(
                delivery.url, data=delivery.body, headers=headers, timeout=self._config.delivery_timeout
            )
        except requests.RequestException as error:
            log.info("webhook %s unreachable: %s", delivery.url, error)
            return False
        return 200 <= answer.status_code < 300
