"""Benchmarks as ratios and counts measured in one run, each against a budget.

`python -m bench [--small]` runs every figure and writes out/bench.json. One module per figure:
`coldstart` (init ratio against bare boto3), `memory` (worker peak RSS while streaming a PAdES),
`calls` (Signicat HTTP calls per signing, token reuse), `throughput` (the offline stack against the
emulator alone), `sizes` (built artifacts).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO / ".aws-sam" / "build"
RUNTIME_PYTHON = REPO / ".venv-runtime" / "bin" / "python"
DEV_PYTHON = REPO / ".venv" / "bin" / "python"
OUT_DIR = REPO / "out"
REGION = "eu-west-1"
FAKE_AWS = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class BenchError(RuntimeError):
    """A benchmark cannot run (missing build, a child failed)."""


@dataclass
class Figure:
    """One measured figure. `op` is how value compares to budget: '<=', '==' or None (no budget)."""

    key: str
    title: str
    value: float | int | None
    unit: str
    budget: float | int | None = None
    op: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> bool | None:
        if self.op is None or self.budget is None:
            return None
        if self.value is None:
            return False
        if self.op == "<=":
            return self.value <= self.budget
        if self.op == "==":
            return self.value == self.budget
        raise ValueError(f"unknown comparison {self.op!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "value": self.value,
            "unit": self.unit,
            "budget": self.budget,
            "comparison": self.op,
            "held": self.held,
            "detail": self.detail,
        }


def child_json(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float, what: str) -> Any:
    """Run a measuring child process and answer the JSON of its last line; BenchError with its stderr if it fails."""
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise BenchError(f"{what} failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def require_build() -> None:
    missing = [
        str(path) for path in (BUILD_DIR / "CoreLayer" / "python", RUNTIME_PYTHON) if not Path(path).exists()
    ]
    if missing:
        raise BenchError(f"missing {', '.join(missing)}: run `make build` and `make runtime` first")


def _python_version(python: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    memory_kib = None
    cpu_model = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpuModel": cpu_model,
        "memoryMiB": round(memory_kib / 1024) if memory_kib else None,
        "platform": platform.platform(),
        "pythonBench": platform.python_version(),
        "pythonDev": _python_version(DEV_PYTHON),
        "pythonRuntime": _python_version(RUNTIME_PYTHON),
    }
