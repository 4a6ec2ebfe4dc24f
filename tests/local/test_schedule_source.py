"""The schedule event source: periods from rate expressions, the Scheduled Event payload, fire(), stop()."""

import threading
import time
from pathlib import Path

import pytest

from local.rie import RUNTIME_PYTHON
from local.schedule_source import (
    ScheduleError,
    ScheduleEventSource,
    period_from_environment,
    rate_seconds,
)
from local.stack import LocalStack

RULE = "arn:aws:events:eu-west-1:123456789012:rule/local-Reconciler-Every"


class Recorder:
    """A fake function: records every event, answers a fixed result, or raises when told to."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list = []
        self._fail_first = fail_first
        self._lock = threading.Lock()

    def __call__(self, event):
        with self._lock:
            self.events.append(event)
            if len(self.events) <= self._fail_first:
                raise RuntimeError("the function failed")
        return {"ok": True}

    def wait_for(self, count: int, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"only {len(self.events)} runs in {timeout} s"
            time.sleep(0.01)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions_give_their_period(expression, seconds):
    assert rate_seconds(expression) == seconds


def test_cron_expressions_have_no_offline_period():
    assert rate_seconds("cron(0 12 * * ? *)") is None


@pytest.mark.parametrize("expression", ["rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)", "hourly"])
def test_malformed_schedules_are_refused(expression):
    with pytest.raises(ScheduleError):
        rate_seconds(expression)


def test_local_schedule_seconds_overrides_the_rate():
    assert period_from_environment("rate(15 minutes)", {"LOCAL_SCHEDULE_SECONDS": "0.5"}) == 0.5
    assert period_from_environment("rate(15 minutes)", {}) == 900
    with pytest.raises(ScheduleError, match="LOCAL_SCHEDULE_SECONDS"):
        period_from_environment("rate(15 minutes)", {"LOCAL_SCHEDULE_SECONDS": "soon"})


def test_source_invokes_every_period_with_an_eventbridge_scheduled_event():
    function = Recorder()
    with ScheduleEventSource(function, period=0.05, rule_arn=RULE, region="eu-west-1"):
        function.wait_for(2)
    first, second = function.events[:2]
    assert first["detail-type"] == "Scheduled Event"
    assert first["source"] == "aws.events"
    assert first["resources"] == [RULE]
    assert first["region"] == "eu-west-1"
    assert first["detail"] == {}
    assert first["time"].endswith("Z")
    assert first["id"] != second["id"]


def test_fire_runs_now_and_answers_the_result_without_a_period():
    function = Recorder()
    with ScheduleEventSource(function, period=None, rule_arn=RULE, region="eu-west-1") as source:
        assert source.fire() == {"ok": True}
        time.sleep(0.2)
    assert len(function.events) == 1  # no period: nothing but fire() runs it


def test_a_constant_input_replaces_the_scheduled_event():
    function = Recorder()
    source = ScheduleEventSource(
        function, period=None, rule_arn=RULE, region="eu-west-1", input='{"full": true}'
    )
    source.fire()
    assert function.events == [{"full": True}]


def test_a_failed_run_is_logged_and_the_next_period_runs_again(caplog):
    function = Recorder(fail_first=1)
    with ScheduleEventSource(function, period=0.05, rule_arn=RULE, region="eu-west-1", name="Rec.Every"):
        function.wait_for(2)
    assert "Rec.Every: scheduled run failed: the function failed" in caplog.text


def test_stop_joins_the_thread_and_no_run_follows():
    function = Recorder()
    source = ScheduleEventSource(function, period=0.05, rule_arn=RULE, region="eu-west-1", name="sched-test")
    source.start()
    function.wait_for(1)
    source.stop()
    runs = len(function.events)
    time.sleep(0.2)
    assert len(function.events) == runs
    assert "sched-test" not in {thread.name for thread in threading.enumerate()}


TEMPLATE = """
Parameters:
  SignicatApiUrl: {Type: String}
  SignicatSecretArn: {Type: String}
  WebhookSecretArn: {Type: String}
  Every: {Type: String, Default: rate(15 minutes)}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Hook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/hook
      Handler: app.handler
      Runtime: python3.13
      Events:
        Webhook: {Type: Api, Properties: {Path: '/webhooks/signicat/{secret}', Method: POST}}
  Reconciler:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/reconciler
      Handler: app.handler
      Runtime: python3.13
      Policies: [{DynamoDBWritePolicy: {TableName: !Ref Table}}]
      Environment: {Variables: {TABLE_NAME: !Ref Table}}
      Events:
        Every: {Type: Schedule, Properties: {Schedule: !Ref Every}}
"""

RECONCILER = """
import os, boto3

def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    table.put_item(Item={"pk": event["id"], "kind": event["detail-type"]})
    return {"seen": event["detail-type"], "rule": event["resources"][0]}
"""


def _wait_for_items(stack: LocalStack, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while len(items := stack.client("dynamodb").scan(TableName=stack.info["table"])["Items"]) < count:
        assert time.monotonic() < deadline, f"the schedule ran the function {len(items)} times, not {count}"
        time.sleep(0.1)
    return items


def test_the_stack_drives_a_template_schedule_at_the_overridden_period(tmp_path: Path, monkeypatch):
    if not RUNTIME_PYTHON.exists():
        pytest.fail(f"{RUNTIME_PYTHON} is missing: run `make runtime` to create it")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    for name, code in (("Hook", "def handler(event, context):\n    return {}\n"), ("Reconciler", RECONCILER)):
        (tmp_path / "build" / name).mkdir(parents=True)
        (tmp_path / "build" / name / "app.py").write_text(code)
    monkeypatch.setenv("LOCAL_SCHEDULE_SECONDS", "0.3")
    stack = LocalStack(
        template_path=tmp_path / "template.yaml",
        build_dir=tmp_path / "build",
        out_dir=tmp_path / "out",
        environ={},
        prefix="schedule",  # moto keeps resources per process: apart from other stacks of this run
    )
    with stack:
        (source,) = [s for s in stack.sources if s.name == "Reconciler.Every"]
        fired = source.fire()
        items = _wait_for_items(stack, 3)  # the fired run and at least two scheduled ones

    assert source.period == 0.3
    assert fired == {"seen": "Scheduled Event", "rule": source.rule_arn}
    assert source.rule_arn.endswith(":rule/schedule-Reconciler-Every")
    assert {item["kind"]["S"] for item in items} == {"Scheduled Event"}
    assert "Reconciler.Every" not in {thread.name for thread in threading.enumerate()}
