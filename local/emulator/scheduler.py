"""A background thread that runs callables at a due time; the packaging and delivery workers use one each."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, name: str) -> None:
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def call_later(self, delay: float, task: Callable[[], None]) -> bool:
        """Run task on the worker thread after delay seconds; False once stopped."""
        with self._cond:
            if self._stopped:
                return False
            heapq.heappush(self._queue, (time.monotonic() + max(delay, 0.0), next(self._seq), task))
            if self._thread is None:  # started on first use, so an idle app owns no thread
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return True

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def stop(self, timeout: float = 10.0) -> None:
        """Drop what is still queued and join the worker thread."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, task = heapq.heappop(self._queue)
            try:
                task()
            except Exception:  # a failing task must not end the worker
                log.exception("%s: task failed", self._name)
