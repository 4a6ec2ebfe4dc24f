from pathlib import Path

import pytest

from local.template import (
    ApiEvent,
    OtherEvent,
    Resolver,
    S3Event,
    ScheduleEvent,
    SqsEvent,
    TemplateError,
    load_template,
)

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  SecretArn:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 30
    Layers:
      - !Ref Core
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        SHARED: from-globals
Resources:
  Core:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/core}
  Table:
    Type: AWS::DynamoDB::Table
  Queue:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api
      MemorySize: 256
      Layers:
        - arn:aws:lambda:eu-west-1:017000801446:layer:Powertools:1
      Environment:
        Variables:
          SHARED: from-function
          QUEUE_URL: !Ref Queue
          QUEUE_ARN: !GetAtt Queue.Arn
          QUEUE_NAME: !GetAtt [Queue, QueueName]
          WHERE: !Sub "${AWS::Region}/${Stage}/${Queue.QueueName}/${!Literal}"
          SUB_VARS: !Sub ["${Name}-x", {Name: !Ref Stage}]
          SECRET: !Ref SecretArn
          ONLY_PROD: !If [IsProd, "yes", !Ref AWS::NoValue]
          FLAG: true
      Events:
        Get:
          Type: Api
          Properties: {Path: "/things/{thingId}", Method: get}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker
      Handler: worker.main
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
        Upload:
          Type: S3
          Properties: {Bucket: !Ref Bucket, Events: "s3:ObjectCreated:*"}
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
        Other:
          Type: EventBridgeRule
          Properties: {Pattern: {source: [x]}}
"""

PHYSICAL = {
    "Table": "local-table",
    "Queue": {"Ref": "http://q/url", "Arn": "arn:aws:sqs:eu-west-1:1:q", "QueueName": "q"},
}


@pytest.fixture
def template(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return load_template(path)


def test_functions_take_globals_and_their_own_properties(template):
    api, worker = template.functions["Api"], template.functions["Worker"]
    assert (api.code_uri, api.handler, api.timeout, api.memory_size) == (
        "functions/api",
        "app.handler",
        30,
        256,
    )
    assert (worker.handler, worker.memory_size) == ("worker.main", 128)
    assert api.environment["SHARED"] == "from-function"
    assert worker.environment["SHARED"] == "from-globals"


def test_layers_concatenate_globals_first_and_only_template_layers_count(template):
    api = template.functions["Api"]
    assert api.layers[0] == {"Ref": "Core"}
    assert len(api.layers) == 2
    assert template.layer_ids(api) == ["Core"]


def test_events_are_typed(template):
    # SAM's implicit API: an Api event without RestApiId belongs to ServerlessRestApi.
    assert template.functions["Api"].events == (
        ApiEvent("Get", "/things/{thingId}", "GET", {"Ref": "ServerlessRestApi"}),
    )
    events = {event.name: event for event in template.functions["Worker"].events}
    assert events["Jobs"] == SqsEvent(
        "Jobs", {"Fn::GetAtt": ["Queue", "Arn"]}, 5, ("ReportBatchItemFailures",)
    )
    assert events["Jobs"].reports_batch_item_failures
    assert events["Upload"] == S3Event("Upload", {"Ref": "Bucket"}, ("s3:ObjectCreated:*",))
    assert events["Nightly"] == ScheduleEvent("Nightly", "rate(1 day)")
    assert isinstance(events["Other"], OtherEvent)
    assert template.functions["Worker"].events_of(SqsEvent) == [events["Jobs"]]


def test_parameters_need_a_value_when_they_have_no_default(template):
    assert template.parameters == {"Stage": "dev", "SecretArn": None}
    with pytest.raises(TemplateError, match="SecretArn"):
        template.parameter_values()
    assert template.parameter_values({"SecretArn": "arn:s"}) == {"Stage": "dev", "SecretArn": "arn:s"}


def test_environment_resolves_ref_getatt_sub_and_conditions(template):
    resolver = Resolver(template, PHYSICAL, region="eu-west-1", parameters={"SecretArn": "arn:secret"})
    assert resolver.environment(template.functions["Api"]) == {
        "TABLE_NAME": "local-table",
        "SHARED": "from-function",
        "QUEUE_URL": "http://q/url",
        "QUEUE_ARN": "arn:aws:sqs:eu-west-1:1:q",
        "QUEUE_NAME": "q",
        "WHERE": "eu-west-1/dev/q/${Literal}",
        "SUB_VARS": "dev-x",
        "SECRET": "arn:secret",
        "FLAG": "true",
    }


def test_condition_true_branch_is_taken(template):
    resolver = Resolver(
        template, PHYSICAL, region="eu-west-1", parameters={"SecretArn": "s", "Stage": "prod"}
    )
    assert resolver.environment(template.functions["Api"])["ONLY_PROD"] == "yes"


def test_unknown_physical_resource_is_a_clear_error(template):
    resolver = Resolver(template, {}, region="eu-west-1", parameters={"SecretArn": "s"})
    with pytest.raises(TemplateError, match="Ref Table"):
        resolver.environment(template.functions["Worker"])
    with pytest.raises(TemplateError, match=r"GetAtt Queue\.Arn"):
        resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]})


def test_missing_or_broken_template_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TemplateError, match="not found"):
        load_template(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("Resources: [unclosed")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template(tmp_path / "bad.yaml")


def test_the_project_template_loads():
    template = load_template(Path(__file__).resolve().parents[2] / "template.yaml")
    assert template.functions
