"""Shared fixtures: AWS from moto, built from template.yaml's own definitions."""

from __future__ import annotations

import json
import logging
import os
from types import SimpleNamespace

import pytest

REGION = "eu-west-1"
SIGNICAT_CREDENTIALS = {"clientId": "local-client", "clientSecret": "local-client-secret"}
WEBHOOK_SECRET = "local-webhook-secret-0f3c9a7e52d14b86"  # url mode: at least 32 URL-safe characters

# Nothing in the test run may reach real AWS, whatever the developer's shell holds.
os.environ.update(
    AWS_DEFAULT_REGION=REGION,
    AWS_REGION=REGION,
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_EC2_METADATA_DISABLED="true",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="esign-tests",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def core_loggers_as_found():
    """A function's app hands the core's loggers to Powertools Logger (on Lambda, one function per process);
    here, many functions share a process: each test starts with them as the core leaves them, propagating."""
    core = logging.getLogger("signing_core")
    core.handlers, core.propagate = [], True
    core.setLevel(logging.NOTSET)
    yield


@pytest.fixture(autouse=True)
def core_metrics_as_found():
    """A function's app sends the core's metrics through Powertools; each test starts with the stdlib writer."""
    from signing_core import metrics

    metrics.use(metrics.write_emf_line)
    yield
    metrics.use(metrics.write_emf_line)


def emf_lines(output: str) -> list[dict]:
    """The EMF metric lines in captured output (Powertools' and the core's writer print them)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def metric_lines(output: str, name: str) -> list[dict]:
    return [line for line in emf_lines(output) if name in line]


@pytest.fixture
def aws(monkeypatch):
    """moto with the template's table, queues and bucket, the two secrets, and the functions' environment."""
    import boto3
    from moto import mock_aws

    from local.aws_resources import create_resources
    from signing_core import aws as core_aws
    from signing_core import settings as core_settings

    with mock_aws():
        core_aws.reset()
        session = boto3.Session(region_name=REGION)
        resources = create_resources(session, prefix="test")
        secrets = session.client("secretsmanager")
        signicat_secret = secrets.create_secret(
            Name="test-signicat", SecretString=json.dumps(SIGNICAT_CREDENTIALS)
        )["ARN"]
        webhook_secret = secrets.create_secret(
            Name="test-webhook", SecretString=json.dumps({"secrets": [WEBHOOK_SECRET]})
        )["ARN"]
        environment = {
            "TABLE_NAME": resources.ref("SigningsTable"),
            "DOCUMENTS_BUCKET": resources.ref("DocumentsBucket"),
            "QUEUE_URL": resources.ref("PackageQueue"),
            "SIGNICAT_SECRET_ARN": signicat_secret,
            "WEBHOOK_SECRET_ARN": webhook_secret,
            "POWERTOOLS_SERVICE_NAME": "esign",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        core_settings.reset()
        yield SimpleNamespace(
            session=session,
            resources=resources,
            env=environment,
            table=session.resource("dynamodb").Table(environment["TABLE_NAME"]),
            bucket=environment["DOCUMENTS_BUCKET"],
            queue_url=environment["QUEUE_URL"],
            dlq_url=resources.ref("PackageDeadLetterQueue"),
            s3=session.client("s3"),
            sqs=session.client("sqs"),
        )
        core_aws.reset()
        core_settings.reset()
