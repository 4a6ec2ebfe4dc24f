"""The benchmarks' budgets, on their small variants: cold-start ratios, worker memory, Signicat calls, sizes,
multi-document starts.

Ratios and counts measured in the same run, never absolute times. Needs `make build` and `make runtime`
(both part of `make test`); skipped with the reason when either is missing. The full figures: `make bench`.
"""

from __future__ import annotations

import ast
import json

import pytest

from bench import BUILD_DIR, RUNTIME_PYTHON, Figure

pytestmark = pytest.mark.skipif(
    not (BUILD_DIR / "CoreLayer" / "python").is_dir() or not RUNTIME_PYTHON.exists(),
    reason="needs `make build` and `make runtime`",
)


def _missed(figures: list[Figure]) -> list[str]:
    return [
        f"{f.key}: {f.value} {f.unit}, budget {f.op} {f.budget} ({json.dumps(f.detail)})"
        for f in figures
        if f.held is False
    ]


# The API holds its budget (1.50) on a quiet machine with little to spare (1.48-1.52 across full runs): Powertools'
# event_handler and pydantic alone come to about 1.43 (docs/benchmarks.md). Beside the rest of the suite on two
# cores its ratio is noisier than the others', so here it is held to a guard that still fails on a regression the
# size of those fixed before (a second boto3 session, idempotency imported at init); `make bench` judges 1.50.
API_REGRESSION_GUARD = 1.60


def test_each_function_initialises_within_its_ratio_to_bare_boto3_with_the_same_clients():
    from bench import coldstart

    def misses(figures: list[Figure]) -> set[str]:
        missed = {f.key for f in figures if f.held is False and f.key != "coldstart.api"}
        api = next(f for f in figures if f.key == "coldstart.api")
        if api.value > API_REGRESSION_GUARD:
            missed.add("coldstart.api")
        return missed

    figures = coldstart.run(small=True)
    assert {f.key for f in figures} == {"coldstart.webhook", "coldstart.worker", "coldstart.api"}
    missed = misses(figures)
    if missed:
        # Wall-clock ratios on a shared machine are noisy: a figure fails only if it misses twice running.
        again = coldstart.run(small=True)
        missed &= misses(again)
        figures = again
    assert not missed, [line for line in _missed(figures) if line.split(":")[0] in missed]


def _aws_services_of(logical_id: str) -> set[str]:
    """The AWS services a built function's code can call: boto3 clients asked of `signing_core.aws`, and
    Secrets Manager behind Powertools' get_secret, in every core module its handler can reach (imports at any
    depth, and modules deferred with `lazy_imports.later`)."""
    core = BUILD_DIR / "CoreLayer" / "python"
    sources = {path.stem: path for path in (BUILD_DIR / logical_id).glob("*.py")}
    sources |= {f"signing_core.{path.stem}": path for path in (core / "signing_core").glob("*.py")}
    services: set[str] = set()
    todo, seen = ["app"], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in sources:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(sources[name].read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                todo += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                argument = (
                    node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                )
                if called == "later":
                    todo.append(argument)
                elif (
                    called == "client"
                    and isinstance(getattr(node.func, "value", None), ast.Name)
                    and node.func.value.id == "aws"
                ):
                    services.add(argument)
                elif called == "get_secret":
                    services.add("secretsmanager")
    return services


def test_each_cold_start_floor_makes_every_client_its_function_uses():
    from bench import coldstart

    for logical_id, (_name, clients, _budget) in coldstart.FUNCTIONS.items():
        assert set(clients) == _aws_services_of(logical_id), logical_id


def test_worker_memory_stays_bounded_while_streaming_a_large_pades_into_s3():
    from bench import memory

    figures = memory.run(small=True)
    streamed = {f.key: f for f in figures if f.key.startswith("memory.stream.")}
    whole = {f.key: f for f in figures if f.key.startswith("memory.whole.")}

    assert set(streamed) == {"memory.stream.10MiB", "memory.stream.50MiB"}
    assert not _missed(figures)
    # Streaming is what keeps it bounded: reading the body whole costs at least the document.
    assert whole["memory.whole.50MiB"].value >= 50 > streamed["memory.stream.50MiB"].value


def test_a_signing_costs_six_signicat_calls_and_tokens_are_reused_for_their_lifetime():
    from bench import calls

    figures = {f.key: f for f in calls.run(small=True)}

    assert figures["calls.perSigning"].detail["endpoints"] == {
        "POST /sign/documents": 1,
        "POST /sign/document-collections": 1,
        "POST /sign/signing-sessions": 1,
        "GET /sign/signing-sessions/{session_id}": 1,
        "GET /sign/document-collections/{collection_id}": 1,
        "GET /sign/documents/{document_id}": 1,
    }
    assert not _missed(list(figures.values()))
    assert figures["calls.tokenRequests"].value >= 1  # tokens were counted at all


def test_a_start_of_20_documents_lasts_about_as_long_as_one_upload_collection_and_sessions():
    from bench import starts

    figures = {f.key: f for f in starts.run(small=True)}
    if figures["starts.documents20"].held is False:
        # Wall-clock ratios on a shared machine are noisy: the figure fails only if it misses twice running.
        figures = {f.key: f for f in starts.run(small=True)}

    assert set(figures) == {"starts.documents1", "starts.documents5", "starts.documents20"}
    assert not _missed(list(figures.values()))
    # Concurrency is what holds it: the 20 uploads of one start were in flight at Signicat together.
    assert figures["starts.documents20"].detail["peakUploadsInFlight"] == 20


def test_built_functions_and_layer_fit_their_size_budgets():
    from bench import sizes

    figures = sizes.run()

    assert any(f.key == "size.CoreLayer" for f in figures)
    assert not _missed(figures)


def test_figure_holds_only_when_its_value_meets_the_budget():
    assert Figure("a", "a", 1.1, "ratio", 1.1, "<=").held is True
    assert Figure("a", "a", 1.2, "ratio", 1.1, "<=").held is False
    assert Figure("a", "a", 5, "calls", 5, "==").held is True
    assert Figure("a", "a", 6, "calls", 5, "==").held is False
    assert Figure("a", "a", None, "bytes", 5, "<=").held is False
    assert Figure("a", "a", 3.0, "ms").held is None


def test_runner_writes_every_figure_with_its_budget_and_the_machine(tmp_path):
    from bench.__main__ import main

    out = tmp_path / "bench.json"
    main(["--small", "--only", "sizes", "--out", str(out)])
    report = json.loads(out.read_text())

    assert report["budgetsHeld"] is all(f["held"] for f in report["figures"].values())
    assert {"cores", "memoryMiB", "pythonRuntime", "pythonDev"} <= set(report["machine"])
    for figure in report["figures"].values():
        assert {"value", "budget", "held"} <= set(figure)
