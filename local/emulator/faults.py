"""Fault injection decisions and the counters that show what happened."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

from local.emulator.config import Faults

# One generator per concern, each seeded from the run's seed: request threads and the background
# workers then draw independently, so a run with the same seed and the same traffic repeats itself.
_STREAMS = ("api", "delivery", "packaging", "download")


class FaultInjector:
    def __init__(self, faults: Faults, seed: int, stats: Stats) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._stats = stats
        self._random = {name: random.Random(f"{seed}:{name}") for name in _STREAMS}  # nosec B311 - seeded so a fault run replays; no secret drawn

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def update(self, changes: dict[str, Any]) -> Faults:
        with self._lock:
            self._faults = self._faults.updated(changes)
            return self._faults

    def roll(self, stream: str, rate_name: str, kind: str) -> bool:
        """True (and counted as an injected fault of this kind) with the named rate's probability."""
        with self._lock:
            rate = getattr(self._faults, rate_name)
            hit = rate > 0 and self._random[stream].random() < rate
        if hit:
            self._stats.fault(kind)
        return hit


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._deliveries: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._in_flight: Counter[str] = Counter()
            self._peak_in_flight: Counter[str] = Counter()

    def request(self, endpoint: str) -> None:
        """A request arrived: counted, and in flight until `answered`."""
        with self._lock:
            self._requests[endpoint] += 1
            self._in_flight[endpoint] += 1
            self._peak_in_flight[endpoint] = max(self._peak_in_flight[endpoint], self._in_flight[endpoint])

    def answered(self, endpoint: str) -> None:
        with self._lock:
            self._in_flight[endpoint] = max(self._in_flight[endpoint] - 1, 0)

    def delivery(self, outcome: str) -> None:
        with self._lock:
            self._deliveries[outcome] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            deliveries = dict.fromkeys(DELIVERY_OUTCOMES, 0) | dict(self._deliveries)
            return {
                "requests": dict(self._requests),
                "deliveries": deliveries,
                "faults": dict(self._faults),
                "peakInFlight": dict(self._peak_in_flight),  # most requests of an endpoint handled at once
            }


DELIVERY_OUTCOMES = ("attempted", "succeeded", "failed", "dropped", "duplicated", "reordered", "expired")
