"""`python -m bench [--small] [--only NAME ...]`: every figure, a table, and out/bench.json."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import OUT_DIR, Figure, machine, require_build

MODULES = ("sizes", "coldstart", "memory", "calls", "throughput", "starts")


def _format(value: float | int | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / 1000:,.1f} KB"
    return f"{value:g} {unit}"


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "budget", "held")]
    for figure in figures:
        budget = f"{figure.op} {_format(figure.budget, figure.unit)}" if figure.op else "(report)"
        held = {True: "yes", False: "NO", None: ""}[figure.held]
        rows.append((figure.title, _format(figure.value, figure.unit), budget, held))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--small", action="store_true", help="the short variant (what CI runs)")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run only these figures")
    parser.add_argument("--out", default=str(OUT_DIR / "bench.json"), help="where to write the JSON")
    args = parser.parse_args(argv)
    require_build()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name in args.only or MODULES:
        started = time.perf_counter()
        print(f"bench: {name}...", file=sys.stderr, flush=True)
        try:
            figures.extend(importlib.import_module(f"bench.{name}").run(small=args.small))
        except Exception as error:  # one broken figure must not hide the others
            traceback.print_exc()
            errors[name] = f"{type(error).__name__}: {error}"
        seconds[name] = round(time.perf_counter() - started, 1)
    held = [figure.held for figure in figures if figure.held is not None]
    report = {
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "small": args.small,
        "budgetsHeld": all(held) and not errors,
        "machine": machine(),
        "figures": {figure.key: figure.as_dict() for figure in figures},
        "errors": errors,
        "secondsPerModule": seconds,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(table(figures))
    for name, error in errors.items():
        print(f"ERROR in {name}: {error}")
    print(f"budgets held: {report['budgetsHeld']}  ({path})")
    return 0 if report["budgetsHeld"] else 1


if __name__ == "__main__":
    sys.exit(main())
