"""A thread that runs until asked to stop: the shape every event source of the offline stack shares."""

from __future__ import annotations

import threading
from typing import Self


class Background:
    """Subclasses implement `_run`, which loops until `self._stopping` is set."""

    name = "background"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _begin(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def request_stop(self) -> None:
        """Ask the thread to finish what it is doing and stop, without waiting for it."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def start(self) -> Self:
        self._begin()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
