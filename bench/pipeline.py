"""Signings through the offline stack (LocalStack): start one by the API, sign it at the emulator, wait for it.

Shared by the call-count and throughput figures. Completion is read from DynamoDB in moto directly,
so waiting adds no call to the API or to Signicat.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import re
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import requests

from bench import OUT_DIR, BenchError

_STACKS = itertools.count(1)
FINAL = {"COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"}
_REPORT = re.compile(r"^REPORT RequestId: \S+\s+(?:Init Duration: [\d.]+ ms\s+)?Duration: ([\d.]+) ms", re.M)


@cache
def document_b64() -> str:
    from local.pdf import sample_pdf

    pdf = sample_pdf(
        "Benchmark agreement", ["One document, one signer.", "Signed through the offline stack."]
    )
    return base64.b64encode(pdf).decode()


def signing_request(index: int) -> dict[str, Any]:
    return {
        "title": f"Benchmark signing {index}",
        "documents": [
            {"filename": "agreement.pdf", "contentType": "application/pdf", "content": document_b64()}
        ],
        "signers": [{"email": f"signer{index}@example.com"}],
    }


@dataclass
class SigningRun:
    index: int
    signing_id: str = ""
    session_ids: list[str] = field(default_factory=list)
    post_started: float = 0.0  # wall clock (time.time), comparable with DynamoDB's timestamps
    post_seconds: float = 0.0
    signed_at: float = 0.0
    completed_at: float | None = None
    state: str | None = None
    error: str | None = None  # why the signing could not be started (tolerated runs only)


class Pipeline:
    """A started LocalStack with thread-local HTTP sessions for the API and the emulator."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.info = stack.info
        self._local = threading.local()
        self._dynamodb = stack.client("dynamodb")

    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def start(self, index: int) -> SigningRun:
        run = SigningRun(index)
        run.post_started = time.time()
        started = time.perf_counter()
        answer = self._http().post(f"{self.info['apiUrl']}/signings", json=signing_request(index), timeout=60)
        run.post_seconds = time.perf_counter() - started
        if answer.status_code != 201:
            raise BenchError(f"POST /signings answered {answer.status_code}: {answer.text[:500]}")
        body = answer.json()
        run.signing_id = body["signingId"]
        run.session_ids = [s["sessionId"] for s in body["sessions"]]
        return run

    def sign(self, run: SigningRun) -> None:
        run.signed_at = time.time()
        for session_id in run.session_ids:
            answer = self._http().post(
                f"{self.info['emulatorUrl']}/_emulator/signing-sessions/{session_id}/sign", timeout=30
            )
            if answer.status_code != 200:
                raise BenchError(f"signing {session_id} answered {answer.status_code}: {answer.text[:300]}")

    def start_and_sign(self, index: int) -> SigningRun:
        run = self.start(index)
        self.sign(run)
        return run

    def wait(self, runs: list[SigningRun], timeout: float = 300.0, poll_seconds: float | None = None) -> None:
        """Until every signing is final; fills state and completed_at (the final item's updatedAt)."""
        waiting = {run.signing_id: run for run in runs}
        deadline = time.monotonic() + timeout
        while waiting:
            for signing_id, run in list(waiting.items()):
                item = self._dynamodb.get_item(
                    TableName=self.info["table"],
                    Key={"pk": {"S": f"SIGNING#{signing_id}"}, "sk": {"S": "SIGNING"}},
                    ProjectionExpression="#s, updatedAt",
                    ExpressionAttributeNames={"#s": "state"},
                ).get("Item")
                if item and item["state"]["S"] in FINAL:
                    run.state = item["state"]["S"]
                    run.completed_at = _epoch(item["updatedAt"]["S"])
                    del waiting[signing_id]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"{len(waiting)} signings not final after {timeout:.0f} s")
            time.sleep(poll_seconds or (0.05 if len(waiting) < 5 else 0.5))

    def run_signings(
        self, count: int, workers: int, closed_loop: bool = False, tolerate_errors: bool = False
    ) -> tuple[list[SigningRun], float]:
        """`count` signings by `workers` threads; waits for all. Answers them and the wall seconds.

        Open loop: each thread starts and signs, then takes the next (completions may queue up behind).
        Closed loop: each thread also waits for its signing to be final, so `workers` are in flight.
        With `tolerate_errors`, a signing that cannot be started is kept with its `error` instead of raising.
        """

        def one(index: int) -> SigningRun:
            try:
                run = self.start_and_sign(index)
            except BenchError as error:
                if not tolerate_errors:
                    raise
                return SigningRun(index, error=str(error))
            if closed_loop:
                self.wait([run], poll_seconds=0.1)
            return run

        started = time.time()
        with ThreadPoolExecutor(workers, thread_name_prefix="bench-signer") as pool:
            runs = list(pool.map(one, range(count)))
        started_runs = [run for run in runs if run.error is None]
        self.wait(started_runs)
        finished = max((run.completed_at or 0.0 for run in started_runs), default=time.time())
        return runs, finished - started

    def emulator_stats(self) -> dict[str, Any]:
        answer = self._http().get(f"{self.info['emulatorUrl']}/_emulator/stats", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def reset_emulator_stats(self) -> None:
        self._http().post(f"{self.info['emulatorUrl']}/_emulator/reset-stats", timeout=10).raise_for_status()


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@contextlib.contextmanager
def offline_stack(
    *, concurrency: int | Mapping[str, int] = 1, token_lifetime: int = 600, packaging_delay: float = 0.2
) -> Iterator[Pipeline]:
    from local.emulator.config import EmulatorConfig
    from local.stack import LocalStack

    config = EmulatorConfig(token_lifetime=token_lifetime, packaging_delay=packaging_delay)
    stack = LocalStack(
        out_dir=OUT_DIR / "bench",
        emulator_config=config,
        concurrency=concurrency,
        # moto keeps resources per process, not per server: each stack of a run gets its own names.
        prefix=f"bench{next(_STACKS)}",
        environ={},
    )
    with stack:
        yield Pipeline(stack)


class LogWindow:
    """RIE REPORT durations written to a function's log after this object was made."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def durations_ms(self) -> list[float]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        return [float(ms) for ms in _REPORT.findall(text)]
