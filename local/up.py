"""The offline stack until Ctrl-C, SIGTERM or the death of its parent: `python -m local.up [--out-dir out]`.

Prints where everything is; out/stack.json holds the same, for scripts. Exits 0 after a clean stop.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.rie import REPO
from local.stack import LocalStack

PR_SET_PDEATHSIG = 1


def describe(info: dict[str, Any], stack_json: Path) -> str:
    """What a person needs to use the stack: its URLs, resources and log files."""
    lines = [
        "Offline stack is up",
        f"  API            {info['apiUrl']}  (POST /signings, GET /signings/{{id}})",
    ]
    lines.append(
        f"  webhook        {info['webhookUrl']}  (the URL to register: in url mode it holds the secret)"
    )
    lines.append(f"  Lambda API     {info['lambdaUrl']}  (make invoke FUNCTION=... EVENT=events/....json)")
    if info.get("emulatorUrl"):
        emulator = info["emulatorUrl"]
        lines.append(f"  Sign API v2    {emulator}/sign  (emulator; controls under {emulator}/_emulator/)")
    lines += [
        f"  AWS (moto)     {info['awsEndpointUrl']}  region {info['region']}",
        f"  bucket         {info['documentsBucket']}",
        f"  table          {info['table']}",
        f"  queue          {info['queueUrl']}",
    ]
    if info.get("dlqUrl"):
        lines.append(f"  dead letters   {info['dlqUrl']}")
    lines += [f"  log            {path}" for path in (info.get("logs") or {}).values()]
    lines += [
        f"  stack.json     {stack_json}",
        f"  env vars       {info['envVars']}  (sam local invoke|start-api --env-vars)",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM; the previous handlers come back afterwards."""
    requested = threading.Event()
    with _handlers(lambda *_: requested.set()):
        yield requested


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Stopping must finish: a second Ctrl-C would leave runtime emulator processes behind."""
    with _handlers(signal.SIG_IGN):
        yield


def interrupt(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: whatever is starting stops what it started."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _handlers(handler: Any) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def stop_with_parent() -> None:
    """SIGTERM when the parent (make, a shell) dies, so the stack stops with it (Linux's parent-death signal)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the signal was set
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.up", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(REPO / "out"), help="stack.json and logs (default out/)")
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` shows where a stop is stuck
    stop_with_parent()
    stack = LocalStack(out_dir=out_dir)
    try:
        stack.start()  # on any error or interrupt, start() stops what it started
    except KeyboardInterrupt:
        print("interrupted while starting; stopped", file=sys.stderr)
        return 130
    except Exception as error:
        print(f"the stack could not start: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    try:
        with stop_requested() as requested:
            print(describe(stack.info, out_dir / "stack.json"), flush=True)
            while not requested.wait(0.5):
                pass
    finally:
        with signals_ignored():
            print("stopping…", flush=True)
            stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
