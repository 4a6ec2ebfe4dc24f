"""The contract report: each behaviour's result on each target, what each target was made to create and
delete, the calls made, and the shape diff of the sandbox's answers against the emulator's (no values)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.contract.settings import EMULATOR, SANDBOX, ContractSettings
from tests.contract.shapes import diff
from tests.contract.targets import Target

MESSAGE_LIMIT = 500  # a failure's message is cut here: the report is a summary, the log has the rest


class ContractRun:
    def __init__(self, settings: ContractSettings) -> None:
        self.settings = settings
        self.targets: dict[str, Target] = {}
        self.behaviours: dict[str, dict[str, Any]] = {}

    def register(self, target: Target) -> None:
        self.targets[target.name] = target

    def record(self, item: pytest.Function, report: pytest.TestReport) -> None:
        target = getattr(item, "callspec", None) and item.callspec.params.get("target")
        if target is None:
            return
        behaviour = self.behaviours.setdefault(
            behaviour_name(item, target),
            {
                "module": item.path.name,
                "description": _first_line(item.obj.__doc__),
                "results": {},
            },
        )
        result = behaviour["results"].setdefault(target, {"outcome": "passed", "seconds": 0.0})
        result["seconds"] = round(result["seconds"] + report.duration, 3)
        if report.skipped:
            result.update(outcome="skipped", reason=_skip_reason(report))
        elif report.failed:
            message = f"{report.when}: {_failure(report)}" if report.when != "call" else _failure(report)
            if result["outcome"] == "failed":  # the test failed, then so did its cleanup
                result["message"] = f"{result['message']}; {message}"
            else:
                result.update(outcome="failed" if report.when == "call" else "error", message=message)

    def build(self) -> dict[str, Any]:
        names = [name for name in (EMULATOR, SANDBOX) if name in self.targets]
        shapes = {name: self.targets[name].recorder.shapes for name in names}
        return {
            "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "targets": {name: self.targets[name].details for name in names},
            "summary": {name: self.summary(name) for name in names},
            "behaviours": [{"behaviour": name, **entry} for name, entry in self.behaviours.items()],
            "resources": {name: self.targets[name].recorder.ledger.counts() for name in names},
            "calls": {name: dict(sorted(self.targets[name].recorder.calls.items())) for name in names},
            "shapeDiff": diff(shapes[SANDBOX], shapes[EMULATOR]) if len(names) == 2 else None,
        }

    def summary(self, target: str) -> dict[str, int]:
        outcomes = Counter(
            entry["results"][target]["outcome"]
            for entry in self.behaviours.values()
            if target in entry["results"]
        )
        return dict(sorted(outcomes.items()))

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.build(), indent=2) + "\n")

    def lines(self) -> list[str]:
        """What the terminal summary says per target."""
        lines = []
        for name, target in self.targets.items():
            counts = target.recorder.ledger.counts()
            made = ", ".join(
                f"{kind} {c['created']} created / {c['deleted'] + c['alreadyGone']} deleted"
                for kind, c in counts.items()
            )
            outcomes = ", ".join(f"{n} {outcome}" for outcome, n in self.summary(name).items())
            lines.append(f"{name}: {outcomes}; {made}")
        return lines


def behaviour_name(item: pytest.Function, target: str) -> str:
    """The test's name without the target: `test_upload[emulator-text/plain]` -> `test_upload[text/plain]`."""
    name = getattr(item, "originalname", item.name)
    others = [part for part in item.callspec.id.split("-") if part != target]
    return f"{name}[{'-'.join(others)}]" if others else name


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _failure(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return " ".join(text.split())[:MESSAGE_LIMIT]
