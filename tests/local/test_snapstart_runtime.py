"""SnapStart's hooks in the Lambda runtime: the built API, the python3.13 runtime, and the runtime interface
client's own hook runner (`awslambdaric.lambda_runtime_hooks_runner`, which Lambda runs between init and the
snapshot, and after each restore). Init leaves the use cases unloaded; the before-snapshot hook loads them; the
after-restore hook renews what environments must not share.

Needs `make build` and `make runtime` (both part of `make test`).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from bench import BUILD_DIR, RUNTIME_PYTHON
from bench.coldstart import function_environment

pytestmark = pytest.mark.skipif(
    not (BUILD_DIR / "CoreLayer" / "python").is_dir() or not RUNTIME_PYTHON.exists(),
    reason="needs `make build` and `make runtime`",
)

USE_CASES = (
    "signing_core.cancelling",
    "signing_core.deferred_starting",
    "signing_core.reading",
    "signing_core.start_requests",
    "signing_core.starting",
    "signing_core.uploads",
)

CHILD = """
import json, sys
import app
from awslambdaric import lambda_runtime_hooks_runner as runner

def loaded(names):
    return {name: name in sys.modules and type(sys.modules[name]).__name__ != "_LazyModule" for name in names}

names = sys.argv[1].split(",")
after_init = loaded(names)
runner.run_before_snapshot()
before_snapshot = loaded(names)
runner.run_after_restore()
print(json.dumps({"afterInit": after_init, "beforeSnapshot": before_snapshot}))
"""


def test_the_api_defers_its_use_cases_to_first_use_and_snapstart_loads_them_before_the_snapshot():
    env, cwd = function_environment("ApiFunction")
    result = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", CHILD, ",".join(USE_CASES)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["afterInit"] == dict.fromkeys(USE_CASES, False)
    assert report["beforeSnapshot"] == dict.fromkeys(USE_CASES, True)
    logged = [json.loads(line) for line in lines[:-1] if line.startswith("{")]
    assert any("restored from a snapshot" in entry.get("message", "") for entry in logged), (
        result.stdout
    )  # the after-restore hook ran, and logs through the function's JSON logger
