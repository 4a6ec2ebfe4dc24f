import os
import threading
from pathlib import Path

import pytest

from local.rie import (
    RUNTIME_PYTHON,
    BuildMissing,
    FunctionError,
    FunctionSpec,
    RieFunction,
    RuntimeMissing,
    parse_result,
    spec_from_template,
)
from local.template import load_template

HANDLER = """
import os, time
import helper

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {
        "event": event,
        "pid": os.getpid(),
        "helper": helper.VALUE,
        "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "table": os.environ.get("TABLE_NAME"),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "real_profile": os.environ.get("AWS_PROFILE"),
    }

def fail(event, context):
    raise ValueError("bad document")

def slow(event, context):
    time.sleep(5)
"""


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A `sam build`-shaped folder: the function's code and a layer's python/ folder."""
    code = tmp_path / "build" / "Tiny"
    code.mkdir(parents=True)
    (code / "app.py").write_text(HANDLER)
    layer = tmp_path / "build" / "Core" / "python"
    layer.mkdir(parents=True)
    (layer / "helper.py").write_text("VALUE = 'from the layer'\n")
    return tmp_path / "build"


def _spec(build: Path, handler: str = "app.handler") -> FunctionSpec:
    return FunctionSpec(
        name="Tiny",
        handler=handler,
        code_dir=build / "Tiny",
        layer_dirs=(build / "Core" / "python",),
        environment={"TABLE_NAME": "signings"},
        timeout=7,
        memory_size=256,
    )


def _runtime_python() -> Path:
    if not RUNTIME_PYTHON.exists():
        pytest.fail(f"{RUNTIME_PYTHON} is missing: run `make runtime` to create it")
    return RUNTIME_PYTHON


def _process_group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_function_runs_under_the_rie_with_its_layer_and_lambda_environment(build, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    function = RieFunction(
        _spec(build),
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:1",
        python=_runtime_python(),
        log_dir=tmp_path / "logs",
    )
    with function:
        result = function.invoke({"hello": "world"})
        pids = [process.process.pid for process in function._processes]
    assert result["event"] == {"hello": "world"}
    assert result["helper"] == "from the layer"
    assert result["name"] == "Tiny"
    assert result["endpoint"] == "http://127.0.0.1:1"
    assert result["table"] == "signings"
    assert 0 < result["remaining_ms"] <= 7000
    assert result["real_profile"] is None
    assert all(_process_group_gone(pid) for pid in pids)
    assert "START RequestId" in (tmp_path / "logs" / "Tiny.log").read_text()


def test_handler_exception_surfaces_as_function_error(build, tmp_path):
    function = RieFunction(
        _spec(build, "app.fail"), region="eu-west-1", python=_runtime_python(), log_dir=tmp_path / "logs"
    )
    with function, pytest.raises(FunctionError) as raised:
        function.invoke({})
    assert raised.value.error_type == "ValueError"
    assert raised.value.error_message == "bad document"


def test_timeout_comes_from_the_template_and_surfaces_as_function_error(build, tmp_path):
    spec = FunctionSpec(
        name="Tiny",
        handler="app.slow",
        code_dir=build / "Tiny",
        layer_dirs=(build / "Core" / "python",),
        timeout=1,
    )
    function = RieFunction(spec, region="eu-west-1", python=_runtime_python(), log_dir=tmp_path / "logs")
    with function, pytest.raises(FunctionError) as raised:
        function.invoke({})
    assert raised.value.error_type == "Sandbox.Timedout"


def test_a_pool_serves_concurrent_invocations_from_separate_processes(build, tmp_path):
    function = RieFunction(
        _spec(build), region="eu-west-1", python=_runtime_python(), log_dir=tmp_path / "logs", concurrency=2
    )
    results = []
    with function:
        threads = [
            threading.Thread(target=lambda: results.append(function.invoke({"sleep": 0.5}))) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len({result["pid"] for result in results}) == 2


def test_missing_build_says_to_run_make_build(tmp_path):
    template_path = tmp_path / "template.yaml"
    template_path.write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: functions/fn, Handler: app.handler}\n"
    )
    template = load_template(template_path)
    with pytest.raises(BuildMissing, match="make build"):
        spec_from_template(template, template.functions["Fn"], {}, build_dir=tmp_path / "nothing")


def test_missing_runtime_says_to_run_make_runtime(build, tmp_path):
    function = RieFunction(_spec(build), region="eu-west-1", python=tmp_path / "no-python")
    with pytest.raises(RuntimeMissing, match="make runtime"):
        function.start()


def test_result_parsing_tells_errors_from_values():
    assert parse_result("F", b"") is None
    assert parse_result("F", b'{"errorType": "x"}') == {"errorType": "x"}
    assert (
        parse_result("F", b'{"statusCode": 200, "errorMessage": "m", "errorType": "t"}')["statusCode"] == 200
    )
    with pytest.raises(FunctionError, match=r"F failed: Runtime\.ExitError: exited"):
        parse_result("F", b'{"errorType": "Runtime.ExitError", "errorMessage": "exited"}', 502)
    with pytest.raises(FunctionError, match=r"Sandbox\.Timedout: Task timed out after 1\.00 seconds"):
        parse_result("F", b"Task timed out after 1.00 seconds")
