"""The core's metrics: the stdlib line is Powertools' line, and a metric never fails the work it counts."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from signing_core import metrics

CASES = [
    (metrics.SIGNINGS_STARTED, metrics.COUNT, 1, {metrics.ENTRY_POINT: metrics.API}, {"signingId": "s-1"}),
    (metrics.SIGN_TO_STORED, metrics.MILLISECONDS, 812.25, {}, {"eventId": "e-1", "sessionId": "x"}),
    (metrics.SIGNICAT_ERRORS, metrics.COUNT, 1, {metrics.STATUS: "503"}, {"operation": None}),
    (metrics.WEBHOOK_REFUSED, metrics.COUNT, 1, {}, {"status": 401}),
]


def emf_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


@pytest.mark.parametrize(("name", "unit", "value", "dimensions", "metadata"), CASES)
def test_the_stdlib_line_is_the_line_powertools_single_metric_prints(
    capsys, monkeypatch, name, unit, value, dimensions, metadata
):
    from aws_lambda_powertools.metrics import single_metric

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ESign")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "esign")
    with single_metric(name=name, unit=unit, value=value, default_dimensions=dict(dimensions)) as metric:
        for key, item in metadata.items():
            metric.add_metadata(key, item)
    (powertools_line,) = capsys.readouterr().out.splitlines()
    timestamp = json.loads(powertools_line)["_aws"]["Timestamp"]

    ours = metrics.emf_line(
        name, unit, value, dimensions, metadata, namespace="ESign", service="esign", timestamp_ms=timestamp
    )

    assert ours == powertools_line  # the same keys, in the same order, with the same separators


def test_the_webhooks_cold_start_line_is_the_one_powertools_records_once_per_container(capsys, monkeypatch):
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics.provider import cold_start as powertools_cold_start

    powertools_cold_start.reset_cold_start_flag()  # another test of this process may have had the cold start
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ESign")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "esign")
    context = SimpleNamespace(function_name="esign-WebhookFunction-1")
    powertools = Metrics()
    powertools.add_metric(name="Other", unit="Count", value=1)  # the cold start line is its own
    powertools.log_metrics(capture_cold_start_metric=True)(lambda event, ctx: None)({}, context)
    (powertools_line,) = [line for line in capsys.readouterr().out.splitlines() if '"ColdStart"' in line]
    metrics.use(metrics.write_emf_line)
    cold_start = metrics.ColdStart()

    cold_start.record(context)
    cold_start.record(context)
    (ours,) = emf_lines(capsys.readouterr().out)

    expected = json.loads(powertools_line)
    ours["_aws"]["Timestamp"] = expected["_aws"]["Timestamp"]
    assert json.dumps(ours) == json.dumps(expected)


def test_a_metric_that_cannot_be_written_is_logged_and_the_work_goes_on(capsys, monkeypatch, caplog):
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    metrics.use(metrics.write_emf_line)

    with caplog.at_level(logging.WARNING, logger="signing_core.metrics"):
        metrics.count(metrics.SIGNINGS_STARTED, signingId="s-1")

    assert emf_lines(capsys.readouterr().out) == []
    assert "metric SigningsStarted not written" in caplog.text


def test_through_powertools_the_core_writes_the_same_line(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ESign")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "esign")
    metrics.use_powertools()
    metrics.count(
        metrics.SIGNINGS_STARTED, dimensions={metrics.ENTRY_POINT: metrics.DROP_FOLDER}, signingId="a"
    )
    through_powertools = emf_lines(capsys.readouterr().out)
    metrics.use(metrics.write_emf_line)
    metrics.count(
        metrics.SIGNINGS_STARTED, dimensions={metrics.ENTRY_POINT: metrics.DROP_FOLDER}, signingId="a"
    )
    through_stdlib = emf_lines(capsys.readouterr().out)

    for line in (*through_powertools, *through_stdlib):
        line["_aws"].pop("Timestamp")
    assert through_powertools == through_stdlib
    assert through_stdlib[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["EntryPoint", "service"]]
    assert through_stdlib[0]["EntryPoint"] == "DropFolder"


def test_the_metrics_module_and_the_webhook_load_neither_powertools_nor_pydantic():
    """The webhook's cold start is the boto3 floor's: its metrics cost it no library."""
    code = (
        "import sys; import signing_core.metrics, signing_core.webhook;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_lambda_powertools', 'pydantic')))"
    )
    core = str(Path(metrics.__file__).parent.parent)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": core}
    )
    assert result.stdout.strip() == "[]"
