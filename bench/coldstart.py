"""Figure 1: cold init of each function's handler module, as a ratio to bare boto3 with the same clients.

Each measurement is a fresh `.venv-runtime` interpreter (python3.13, what Lambda and the Powertools layer
provide) with PYTHONPATH = the function's and the layer's `sam build` folders, the template's environment
variables, fake credentials and the region, as the offline stack's runtime gets them. Inside the child,
`time.perf_counter()` is read around the work only, so interpreter start-up counts on neither side:

- function: `import app` (the import and all module-scope work), then `signing_core.aws.client(service)`
  for every boto3 client the function uses — the same call the product makes on first use;
- floor: `import boto3`, then `boto3.client(service, config=Config(...))` for the same services with the
  same Config as `signing_core.aws.client`.

Both sides thus do the same AWS work; the ratio is what the function adds on top of it. Runs are
interleaved (floor, function, function, floor, ...: the order alternates) so drift affects both alike,
and the medians compared. The CPU-time ratio of the same work is in the detail, as a cross-check that
is less sensitive to other load on the machine.
The import part alone is reported beside it, and the heaviest top-level imports from `-X importtime`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench import BUILD_DIR, FAKE_AWS, REGION, RUNTIME_PYTHON, Figure, child_json, median

# Logical id → (short name, the boto3 clients the function makes, budget for the ratio). The clients are every
# service the function's code can call (tests/bench/test_budgets.py checks them against the built code): the worker
# and the API announce final states on EventBridge, and the API defers large starts through SQS.
FUNCTIONS = {
    "WebhookFunction": ("webhook", ("sqs", "dynamodb", "secretsmanager"), 1.10),
    "PackageWorkerFunction": ("worker", ("s3", "dynamodb", "sqs", "secretsmanager", "events"), 1.30),
    # The API keeps Powertools event_handler + pydantic validation; SnapStart takes its init off the cold path on AWS.
    "ApiFunction": ("api", ("dynamodb", "s3", "secretsmanager", "sqs", "events"), 1.50),
}

_FUNCTION_CHILD = """
import importlib, json, sys, time
services = sys.argv[1].split(",")
c0, t0 = time.process_time(), time.perf_counter()
importlib.import_module("app")
t1 = time.perf_counter()
from signing_core import aws
for service in services:
    aws.client(service)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import": t1 - t0, "total": t2 - t0, "cpu": c2 - c0}))
"""

_FLOOR_CHILD = """
import json, sys, time
services = sys.argv[1].split(",")
c0, t0 = time.process_time(), time.perf_counter()
import boto3
from botocore.config import Config
t1 = time.perf_counter()
for service in services:
    boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 5}))
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import": t1 - t0, "total": t2 - t0, "cpu": c2 - c0}))
"""


def function_environment(logical_id: str) -> tuple[dict[str, str], Path]:
    """The environment the runtime gives the function (template variables resolved against fake resources)."""
    from local.rie import lambda_environment, spec_from_template
    from local.template import Resolver, load_template

    template = load_template(BUILD_DIR.parent.parent / "template.yaml")
    physical = {
        lid: {
            "Ref": f"bench-{lid.lower()}",
            "Arn": f"arn:aws:sqs:{REGION}:123456789012:bench-{lid.lower()}",
            "Name": f"bench-{lid.lower()}",
            "QueueName": f"bench-{lid.lower()}",
            "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/123456789012/bench-{lid.lower()}",
        }
        for lid in template.resources
    }
    fake_secret = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:bench"
    parameters = {name: fake_secret for name in template.parameters if template.parameters.get(name) is None}
    resolver = Resolver(template, physical, region=REGION, parameters=parameters)
    function = template.functions[logical_id]
    spec = spec_from_template(template, function, resolver.environment(function), BUILD_DIR)
    env = lambda_environment(spec, region=REGION)
    env.update(FAKE_AWS)
    env.pop("AWS_ENDPOINT_URL", None)
    # As on Lambda (Tracing: Active): a function's Tracer patches botocore at init, which the figure must count.
    env["POWERTOOLS_TRACE_DISABLED"] = "false"
    return env, spec.code_dir


def _run_child(code: str, services: tuple[str, ...], env: dict[str, str], cwd: Path) -> dict[str, float]:
    return child_json(
        [str(RUNTIME_PYTHON), "-c", code, ",".join(services)],
        env=env,
        cwd=cwd,
        timeout=120,
        what=f"cold-start child in {cwd.name}",
    )


def heaviest_imports(env: dict[str, str], cwd: Path, top: int = 6) -> list[dict[str, Any]]:
    """`app` and the modules it imports directly, by cumulative import time (`python -X importtime -c 'import app'`), one run."""
    result = subprocess.run(
        [str(RUNTIME_PYTHON), "-X", "importtime", "-c", "import app"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
        level = (len(name) - len(name.lstrip()) - 1) // 2
        row = {"module": name.strip(), "cumulativeMs": round(int(cumulative_us) / 1000, 1)}
        if level == 1:
            pending.append(row)  # children are printed before their parent
        elif level == 0:
            if row["module"] == "app":
                rows = [row, *pending]
            pending = []
    rows.sort(key=lambda row: row["cumulativeMs"], reverse=True)
    return rows[:top]


def run(small: bool = False, repetitions: int | None = None) -> list[Figure]:
    reps = repetitions or (7 if small else 15)
    setups = {}
    for logical_id, (_name, services, _budget) in FUNCTIONS.items():
        env, cwd = function_environment(logical_id)
        setups[logical_id] = (env, cwd, services)
        # One discarded run of each side: byte-code caches are written, the page cache is warm.
        _run_child(_FLOOR_CHILD, services, env, cwd)
        _run_child(_FUNCTION_CHILD, services, env, cwd)
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        lid: {"floor": [], "function": []} for lid in FUNCTIONS
    }
    for rep in range(reps):
        for logical_id, (env, cwd, services) in setups.items():
            # Alternate which side goes first, so neither always follows the other.
            order = ("floor", "function") if rep % 2 == 0 else ("function", "floor")
            for side in order:
                code = _FLOOR_CHILD if side == "floor" else _FUNCTION_CHILD
                samples[logical_id][side].append(_run_child(code, services, env, cwd))
    figures = []
    for logical_id, (name, services, budget) in FUNCTIONS.items():
        floor = median([s["total"] for s in samples[logical_id]["floor"]])
        function = median([s["total"] for s in samples[logical_id]["function"]])
        function_import = median([s["import"] for s in samples[logical_id]["function"]])
        floor_import = median([s["import"] for s in samples[logical_id]["floor"]])
        env, cwd, _ = setups[logical_id]
        figure = Figure(
            key=f"coldstart.{name}",
            title=f"cold init {name} / boto3 floor",
            value=round(function / floor, 3),
            unit="ratio",
            budget=budget,
            op="<=",
            detail={
                "clients": list(services),
                "repetitions": reps,
                "functionMs": round(function * 1000, 1),
                "floorMs": round(floor * 1000, 1),
                "functionImportOnlyMs": round(function_import * 1000, 1),
                "floorImportOnlyMs": round(floor_import * 1000, 1),
                # CPU time of the same work: less sensitive to other load on the machine.
                "cpuRatio": round(
                    median([s["cpu"] for s in samples[logical_id]["function"]])
                    / median([s["cpu"] for s in samples[logical_id]["floor"]]),
                    3,
                ),
            },
        )
        if not small or figure.held is False:
            figure.detail["heaviestImports"] = heaviest_imports(env, cwd)
        figures.append(figure)
    return figures


if __name__ == "__main__":  # pragma: no cover - handy alone: python -m bench.coldstart
    for fig in run(small=bool(os.environ.get("SMALL"))):
        print(fig.key, fig.value, fig.held, json.dumps(fig.detail))
