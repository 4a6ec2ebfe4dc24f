"""The stack's wiring, on a small template of its own with tiny functions (real RIE, moto, emulator)."""

import json
import os
import threading
import time
from pathlib import Path

import pytest
import requests

from local.rie import RUNTIME_PYTHON, BuildMissing
from local.stack import LocalStack, StackError, signicat_from_environment

TEMPLATE = """
Parameters:
  SignicatApiUrl: {Type: String}
  SignicatSecretArn: {Type: String}
  WebhookSecretArn: {Type: String}
  WebhookAuthMode: {Type: String, Default: token}
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 10
    Layers: [!Ref CoreLayer]
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/core}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Bucket:
    Type: AWS::S3::Bucket
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt JobsDlq.Arn, maxReceiveCount: 3}
  JobsDlq:
    Type: AWS::SQS::Queue
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo
      Policies:
        - AWSSecretsManagerGetSecretValuePolicy: {SecretArn: !Ref WebhookSecretArn}
      Environment:
        Variables:
          QUEUE_URL: !Ref Jobs
          DOCUMENTS_BUCKET: !Ref Bucket
          SIGNICAT_API_URL: !Ref SignicatApiUrl
          SIGNICAT_SECRET_ARN: !Ref SignicatSecretArn
          WEBHOOK_SECRET_ARN: !Ref WebhookSecretArn
      Events:
        Webhook: {Type: Api, Properties: {Path: /webhooks/signicat, Method: POST}}
  Intake:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/intake
      Policies:
        - DynamoDBWritePolicy: {TableName: !Ref Table}
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Bucket
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: incoming/}]}}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker
      Policies:
        - DynamoDBWritePolicy: {TableName: !Ref Table}
      Events:
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 2, FunctionResponseTypes: [ReportBatchItemFailures]}
"""

ECHO = """
import json, os, boto3

def handler(event, context):
    secrets = boto3.client("secretsmanager")
    body = {
        "env": {name: value for name, value in os.environ.items() if name.isupper()},
        "webhookSecret": secrets.get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ARN"])["SecretString"],
        "path": event["path"],
        "pathParameters": event["pathParameters"],
    }
    return {"statusCode": 200, "body": json.dumps(body)}
"""

WORKER = """
import os, boto3, helper

def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(Item={"pk": record["body"], "by": helper.NAME})
    return {"batchItemFailures": []}
"""

INTAKE = """
import os, urllib.parse, boto3

def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])  # S3 events carry keys URL-encoded
        table.put_item(Item={"pk": key, "by": "intake"})
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    build = tmp_path / "build"
    for name, code in (("Echo", ECHO), ("Worker", WORKER), ("Intake", INTAKE)):
        (build / name).mkdir(parents=True)
        (build / name / "app.py").write_text(code)
    (build / "CoreLayer" / "python").mkdir(parents=True)
    (build / "CoreLayer" / "python" / "helper.py").write_text("NAME = 'worker'\n")
    return tmp_path


def _stack(project: Path, **overrides) -> LocalStack:
    if not RUNTIME_PYTHON.exists():
        pytest.fail(f"{RUNTIME_PYTHON} is missing: run `make runtime` to create it")
    options = {
        "template_path": project / "template.yaml",
        "build_dir": project / "build",
        "out_dir": project / "out",
        "environ": {},
    }
    return LocalStack(**(options | overrides))


def _wait_for_item(stack: LocalStack, table: str, key: str) -> dict:
    deadline = time.monotonic() + 20
    while "Item" not in (item := stack.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": key}})):
        assert time.monotonic() < deadline, f"no function wrote {key}"
        time.sleep(0.1)
    return item


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stack_wires_gateway_functions_emulator_secrets_and_queue_then_stops_cleanly(project):
    stack = _stack(project)
    with stack:
        info = json.loads((project / "out" / "stack.json").read_text())
        answer = requests.post(info["webhookUrl"], data="{}", timeout=30).json()
        stack.client("sqs").send_message(QueueUrl=info["queueUrl"], MessageBody="job-1")
        stack.client("s3").put_object(Bucket=info["documentsBucket"], Key="incoming/a.pdf", Body=b"%PDF")
        stack.client("s3").put_object(Bucket=info["documentsBucket"], Key="elsewhere/b.pdf", Body=b"%PDF")
        item = _wait_for_item(stack, info["table"], "job-1")
        uploaded = _wait_for_item(stack, info["table"], "incoming/a.pdf")
        elsewhere = stack.client("dynamodb").get_item(
            TableName=info["table"], Key={"pk": {"S": "elsewhere/b.pdf"}}
        )
        pids = [process.process.pid for runner in stack.functions.values() for process in runner._processes]
        emulator = stack.emulator

    assert info["apiUrl"].startswith("http://127.0.0.1:")
    assert info["webhookUrl"] == info["apiUrl"] + "/webhooks/signicat"
    assert emulator.config.webhook_urls == [info["webhookUrl"]]
    assert emulator.config.webhook_auth_mode == "token"  # the template parameter's value
    assert answer["path"] == "/webhooks/signicat"
    assert json.loads(answer["webhookSecret"]) == {"secrets": [emulator.config.webhook_secret]}
    env = answer["env"]
    assert env["SIGNICAT_API_URL"] == info["emulatorUrl"] + "/sign"
    assert env["QUEUE_URL"] == info["queueUrl"]
    assert env["DOCUMENTS_BUCKET"] == info["documentsBucket"]
    assert env["AWS_ENDPOINT_URL"] == info["awsEndpointUrl"]
    assert info["dlqUrl"].endswith("jobsdlq")
    assert item["Item"]["by"] == {"S": "worker"}
    assert uploaded["Item"]["by"] == {"S": "intake"}
    assert "Item" not in elsewhere  # the template's prefix filter holds

    assert not any(_alive(pid) for pid in pids)
    names = {thread.name for thread in threading.enumerate()}
    assert not names & {"gateway", "emulator-http", "Worker.Jobs", "Intake.Upload"}


def _url_mode(project: Path, route: str = "/webhooks/signicat/{secret}") -> Path:
    """The project's template with WebhookAuthMode url (the product's default) and the webhook at `route`."""
    template = project / "template.yaml"
    text = template.read_text().replace("Default: token", "Default: url")
    template.write_text(text.replace("Path: /webhooks/signicat,", f"Path: '{route}',"))
    return project


def test_in_url_mode_the_webhook_url_to_register_carries_the_secret_and_the_emulator_delivers_there(project):
    with _stack(_url_mode(project)) as stack:
        info = json.loads((project / "out" / "stack.json").read_text())
        answer = requests.post(info["webhookUrl"], data="{}", timeout=30).json()
        config = stack.emulator.config

    assert info["webhookUrl"] == f"{info['apiUrl']}/webhooks/signicat/{config.webhook_secret}"
    assert len(config.webhook_secret) >= 32
    assert (config.webhook_urls, config.webhook_auth_mode) == ([info["webhookUrl"]], "url")
    assert answer["pathParameters"] == {"secret": config.webhook_secret}
    assert json.loads(answer["webhookSecret"]) == {"secrets": [config.webhook_secret]}


def test_a_template_without_the_webhook_route_its_mode_needs_fails_before_anything_starts(project):
    stack = _stack(_url_mode(project, route="/webhooks/other"))
    with pytest.raises(StackError, match=r"no /webhooks/signicat/\{secret\} route"):
        stack.start()
    assert stack.moto is None


def test_a_real_signicats_webhook_secret_too_short_for_the_url_fails_before_anything_starts(project):
    environ = {
        "SIGNICAT_API_URL": "https://api.example/sign",
        "SIGNICAT_CLIENT_ID": "id",
        "SIGNICAT_CLIENT_SECRET": "secret",
        "SIGNICAT_WEBHOOK_SECRET": "hook",
    }
    stack = _stack(_url_mode(project), environ=environ)
    with pytest.raises(StackError, match="SIGNICAT_WEBHOOK_SECRET goes into the webhook's URL"):
        stack.start()
    assert stack.moto is None


def test_signicat_from_the_environment_replaces_the_emulator():
    signicat = signicat_from_environment(
        {
            "SIGNICAT_API_URL": "https://api.example/sign/",
            "SIGNICAT_CLIENT_ID": "id",
            "SIGNICAT_CLIENT_SECRET": "secret",
            "SIGNICAT_WEBHOOK_SECRET": "hook",
        }
    )
    assert signicat.api_url == "https://api.example/sign"
    assert signicat.token_url == "https://api.signicat.com/auth/open/connect/token"
    with pytest.raises(StackError, match="SIGNICAT_CLIENT_SECRET, SIGNICAT_WEBHOOK_SECRET"):
        signicat_from_environment({"SIGNICAT_API_URL": "x", "SIGNICAT_CLIENT_ID": "id"})


def test_missing_build_fails_before_anything_starts(project):
    stack = _stack(project, build_dir=project / "no-build")
    with pytest.raises(BuildMissing, match="make build"):
        stack.start()
    assert stack.moto is None
