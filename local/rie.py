"""Run a function of the template under the real AWS Lambda Runtime Interface Emulator, without Docker.

The RIE binary ships inside the aws-sam-cli wheel. Each process serves one invocation at a time, so a
function is a small pool of RIE processes; `invoke` waits for an idle one.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import queue
import shutil
import signal
import socket
import subprocess  # nosec B404 - the offline stack runs the runtime emulator, with argument lists
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from local.template import Function, Template

REPO = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO / ".aws-sam" / "build"
RUNTIME_PYTHON = REPO / ".venv-runtime" / "bin" / "python"
LOG_DIR = REPO / "out" / "logs"
RIE_NAME = "aws-lambda-rie-x86_64"
SETPRIV = shutil.which("setpriv")  # util-linux: sets the parent-death signal of what it runs
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# What a handler's error payload consists of; a result with only these keys is an error, not a value.
_ERROR_KEYS = {"errorType", "errorMessage", "stackTrace", "requestId"}


class BuildMissing(RuntimeError):
    """`sam build` output for a function or layer is not there."""


class RuntimeMissing(RuntimeError):
    """The functions' python runtime environment (.venv-runtime) is not there."""


class FunctionError(Exception):
    """The function raised, or the runtime failed it (timeout, crash): Lambda's error payload."""

    def __init__(self, function: str, payload: Mapping[str, Any]) -> None:
        self.function = function
        self.error_type = str(payload.get("errorType", ""))
        self.error_message = str(payload.get("errorMessage", ""))
        self.stack_trace = payload.get("stackTrace") or []
        super().__init__(f"{function} failed: {self.error_type}: {self.error_message}")


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to run one function: its code, layers, handler, limits and variables."""

    name: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: int = 3
    memory_size: int = 128
    logging_config: Mapping[str, Any] = field(default_factory=dict)  # the template's LoggingConfig


def spec_from_template(
    template: Template, function: Function, environment: Mapping[str, str], build_dir: Path = BUILD_DIR
) -> FunctionSpec:
    """The function's `sam build` folders; a missing folder is an error that says to build."""
    code_dir = Path(build_dir) / function.logical_id
    layer_dirs = tuple(Path(build_dir) / layer_id / "python" for layer_id in template.layer_ids(function))
    for folder in (code_dir, *layer_dirs):
        if not folder.is_dir():
            raise BuildMissing(f"{folder} does not exist: run `make build` (sam build) first")
    return FunctionSpec(
        name=function.logical_id,
        handler=function.handler,
        code_dir=code_dir,
        layer_dirs=layer_dirs,
        environment=dict(environment),
        timeout=function.timeout,
        memory_size=function.memory_size,
        logging_config=function.logging_config,
    )


def rie_binary() -> Path:
    """The RIE from the installed aws-sam-cli, copied to an executable file if the wheel lost its mode."""
    binary = Path(str(importlib.resources.files("samcli") / "local" / "rapid" / RIE_NAME))
    if not binary.is_file():
        raise RuntimeMissing(f"{binary} not found: aws-sam-cli is not installed in this environment")
    if os.access(binary, os.X_OK):
        return binary
    copy = REPO / "out" / "bin" / RIE_NAME
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(binary, copy)
        copy.chmod(0o755)
    return copy


def lambda_environment(
    spec: FunctionSpec,
    *,
    region: str,
    endpoint_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A clean environment like Lambda's: nothing leaks from the caller's shell (no real credentials), and the
    function's own role credentials (`aws_access_key_id`, ... as boto3 names them) where given."""
    credentials = credentials or {}
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(Path.home())),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(str(path) for path in (spec.code_dir, *spec.layer_dirs)),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": credentials.get("aws_access_key_id", "testing"),
        "AWS_SECRET_ACCESS_KEY": credentials.get("aws_secret_access_key", "testing"),  # nosec B105 - moto's dummies
        "AWS_SESSION_TOKEN": credentials.get("aws_session_token", "testing"),  # nosec B105 - moto's dummies
        "AWS_EC2_METADATA_DISABLED": "true",
        # No X-Ray daemon offline: Powertools' tracer would only log connection errors.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    if endpoint_url:
        base["AWS_ENDPOINT_URL"] = endpoint_url
    if str(spec.logging_config.get("LogFormat", "")).upper() == "JSON":
        # What Lambda sets for LoggingConfig; the log levels apply to the JSON format only.
        base["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        if spec.logging_config.get("ApplicationLogLevel"):
            base["AWS_LAMBDA_LOG_LEVEL"] = str(spec.logging_config["ApplicationLogLevel"])
    return {**base, **spec.environment}


def parse_result(function: str, body: bytes, status: int = 200) -> Any:
    """The handler's return value; Lambda's error payloads (and the RIE's plain-text ones) raise."""
    if not body and status == 200:
        return None
    try:
        result = json.loads(body)
    except ValueError:
        # The RIE answers a timeout with plain text ("Task timed out after 1.00 seconds").
        text = body.decode(errors="replace")
        error_type = "Sandbox.Timedout" if "timed out" in text else "Runtime.InvalidResponse"
        raise FunctionError(function, {"errorType": error_type, "errorMessage": text}) from None
    if isinstance(result, dict) and {"errorType", "errorMessage"} <= result.keys() <= _ERROR_KEYS:
        raise FunctionError(function, result)
    if status != 200:
        raise FunctionError(
            function, {"errorType": f"HTTP{status}", "errorMessage": body.decode(errors="replace")}
        )
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _RieProcess:
    """One RIE process (and the runtime it starts) in its own process group."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: IO[bytes]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{INVOKE_PATH}"
        # The runtime API defaults to 127.0.0.1:9001 for every RIE: each process needs its own.
        command = [
            argv[0],
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            *argv[1:],
        ]
        # In a session of its own (a Ctrl-C in the terminal is the stack's to handle), killed by the kernel
        # should the stack's process die without stopping it (setpriv's parent-death signal, where there is one).
        guard = [SETPRIV, "--pdeathsig", "KILL", "--"] if SETPRIV else []
        self.process = subprocess.Popen(  # nosec B603 - our own binary and arguments, no shell
            [*guard, *command],
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.session = requests.Session()

    def wait_ready(self, name: str, log_path: Path) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{name}: the runtime emulator exited ({self.process.returncode}); see {log_path}"
                )
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(
            f"{name}: the runtime emulator did not listen within {READY_TIMEOUT}s; see {log_path}"
        )

    def terminate(self) -> None:
        """Ask the RIE to stop (it kills its runtime), without waiting."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, deadline: float) -> None:
        """Wait for it until `deadline` (time.monotonic), then kill whatever is left of it and its runtime."""
        self.session.close()
        runtimes = _children(self.process.pid)  # the RIE starts its runtime in a process group of its own
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(max(deadline - time.monotonic(), 0.01))
        for group in (self.process.pid, *runtimes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        self.process.wait()


def _children(pid: int) -> list[int]:
    """The pids of a process's children (Linux's /proc; none elsewhere)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(child) for child in task.read_text().split()]
    return found


class RieFunction:
    """A function served by `concurrency` RIE processes; `invoke(event)` returns the handler's result."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        region: str,
        endpoint_url: str | None = None,
        credentials: Mapping[str, str] | None = None,
        python: Path = RUNTIME_PYTHON,
        log_dir: Path = LOG_DIR,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.spec = spec
        self.name = spec.name
        self._env = lambda_environment(
            spec, region=region, endpoint_url=endpoint_url, credentials=credentials
        )
        self._python = Path(python)
        self.log_path = Path(log_dir) / f"{spec.name}.log"
        self._concurrency = concurrency
        self._processes: list[_RieProcess] = []
        self._idle: queue.Queue[_RieProcess] = queue.Queue()
        self._log: IO[bytes] | None = None

    def start(self) -> RieFunction:
        if not self._python.exists():
            raise RuntimeMissing(
                f"{self._python} not found: run `make runtime` to create the functions' python3.13 environment"
            )
        if not self.spec.code_dir.is_dir():
            raise BuildMissing(f"{self.spec.code_dir} does not exist: run `make build` (sam build) first")
        argv = [str(rie_binary()), str(self._python), "-m", "awslambdaric", self.spec.handler]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        try:
            for _ in range(self._concurrency):
                process = _RieProcess(argv, self._env, self.spec.code_dir, self._log)
                self._processes.append(process)
                process.wait_ready(self.name, self.log_path)
                self._idle.put(process)
        except BaseException:
            self.stop()
            raise
        return self

    def invoke(self, event: Any) -> Any:
        if not self._processes:
            raise RuntimeError(f"{self.name} is not started")
        process = self._idle.get()
        try:
            response = process.session.post(
                process.url, data=json.dumps(event).encode(), timeout=self.spec.timeout + 10
            )
        finally:
            self._idle.put(process)
        return parse_result(self.name, response.content, response.status_code)

    def request_stop(self) -> None:
        """Ask every RIE process to stop at once; stop() then waits for them together."""
        for process in self._processes:
            process.terminate()

    def stop(self) -> None:
        self.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self._processes:
            process.stop(deadline)
        self._processes.clear()
        self._idle = queue.Queue()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RieFunction:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
