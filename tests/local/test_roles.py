"""The functions' roles as SAM makes them from template.yaml, asked the questions AWS would ask.

Least privilege, read off the template itself: what each function needs is allowed, its neighbours' keys and
prefixes are not.
"""

from __future__ import annotations

from functools import cache

import pytest

from local.access_control import ALLOW, Call, evaluate
from local.rie import REPO
from local.roles import OfflineManagedPolicies, execution_roles
from local.template import Resolver, load_template

REGION, ACCOUNT = "eu-west-1", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t-signings"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:t-package"
START_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:t-start"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/t/0197d5fb-0000-7000-8000-000000000000"
BUCKET = "documents-0197d5fb-0000-7000-8000-000000000000"


@cache
def inline_policies() -> dict[str, list[dict]]:
    template = load_template(REPO / "template.yaml")
    parameters = {"SignicatSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signicat-AbC"}
    parameters["WebhookSecretArn"] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-XyZ"
    physical = {
        "SigningsTable": {"Ref": "t-signings", "Arn": TABLE},
        "DocumentsBucket": {"Ref": BUCKET, "Arn": f"arn:aws:s3:::{BUCKET}"},
        "PackageQueue": {"Ref": "https://sqs/t-package", "Arn": QUEUE, "QueueName": "t-package"},
        "PackageDeadLetterQueue": {"Ref": "https://sqs/t-dlq", "Arn": QUEUE + "-dlq", "QueueName": "t-dlq"},
        "IntakeDeadLetterQueue": {"Ref": "https://sqs/t-idlq", "Arn": QUEUE + "-idlq", "QueueName": "t-idlq"},
        "VerifierDeadLetterQueue": {
            "Ref": "https://sqs/t-vdlq",
            "Arn": QUEUE + "-vdlq",
            "QueueName": "t-vdlq",
        },
        "ReconcilerDeadLetterQueue": {
            "Ref": "https://sqs/t-rdlq",
            "Arn": QUEUE + "-rdlq",
            "QueueName": "t-rdlq",
        },
        "StartQueue": {"Ref": "https://sqs/t-start", "Arn": START_QUEUE, "QueueName": "t-start"},
        "StartDeadLetterQueue": {
            "Ref": "https://sqs/t-sdlq",
            "Arn": START_QUEUE + "-dlq",
            "QueueName": "t-sdlq",
        },
        "CoreLayer": "arn:layer",
        "VerificationLayer": "arn:verification-layer",
    }
    resolver = Resolver(template, physical, region=REGION, parameters=parameters, stack_id=STACK_ID)
    roles = execution_roles(template, template.parameter_values(parameters), REGION)
    return {name: [resolver.resolve(doc) for doc in role.policies.values()] for name, role in roles.items()}


def allowed(function: str, action: str, resource: str, **context: list[str]) -> bool:
    return evaluate(inline_policies()[function], Call(action, resource, context)) == ALLOW


def s3(key: str = "") -> str:
    return f"arn:aws:s3:::{BUCKET}" + (f"/{key}" if key else "")


def test_the_verifier_reads_only_signed_pades_and_its_trust_roots_and_writes_no_object():
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/esign/trust-roots"

    assert allowed("VerifierFunction", "s3:GetObjectVersion", s3("signed/s-1.pdf"))
    assert not allowed("VerifierFunction", "s3:GetObject", s3("incoming/a.pdf"))
    assert not allowed("VerifierFunction", "s3:PutObject", s3("signed/s-1.pdf"))
    assert allowed("VerifierFunction", "s3:ListBucketVersions", s3(), **{"s3:prefix": ["signed/s-1.pdf"]})
    assert not allowed("VerifierFunction", "s3:ListBucketVersions", s3(), **{"s3:prefix": ["uploads/"]})
    assert allowed("VerifierFunction", "ssm:GetParameter", parameter)
    assert not allowed("VerifierFunction", "ssm:GetParameter", parameter.replace("trust-roots", "other"))
    assert allowed("VerifierFunction", "dynamodb:UpdateItem", TABLE)
    assert not allowed("VerifierFunction", "dynamodb:PutItem", TABLE)


@pytest.mark.parametrize(
    ("function", "prefix"),
    [
        ("PackageWorkerFunction", "signed/"),
        ("ApiFunction", "uploads/"),
        ("IntakeFunction", "incoming/"),
        ("StartWorkerFunction", "uploads/"),
    ],
)
def test_each_function_lists_the_bucket_only_under_the_prefix_it_reads(function, prefix):
    assert allowed(function, "s3:ListBucket", s3(), **{"s3:prefix": [f"{prefix}some-key"]})
    assert not allowed(function, "s3:ListBucket", s3(), **{"s3:prefix": ["receipts/"]})
    assert not allowed(function, "s3:ListBucket", s3())


def test_the_webhook_writes_and_removes_only_replay_markers():
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem"):
        assert allowed("WebhookFunction", action, TABLE, **{"dynamodb:LeadingKeys": ["EVENT#e-1"]})
        assert not allowed("WebhookFunction", action, TABLE, **{"dynamodb:LeadingKeys": ["SIGNING#s-1"]})
    assert not allowed(
        "WebhookFunction", "dynamodb:GetItem", TABLE, **{"dynamodb:LeadingKeys": ["EVENT#e-1"]}
    )


def test_the_worker_defers_messages_on_its_queue_without_looking_its_url_up():
    assert allowed("PackageWorkerFunction", "sqs:ChangeMessageVisibility", QUEUE)
    assert not allowed("PackageWorkerFunction", "sqs:GetQueueUrl", QUEUE)


def test_only_the_worker_writes_signed_documents():
    for function in (
        "ApiFunction",
        "WebhookFunction",
        "IntakeFunction",
        "ReconcilerFunction",
        "StartWorkerFunction",
    ):
        assert not allowed(function, "s3:PutObject", s3("signed/x.pdf")), function
    assert allowed("PackageWorkerFunction", "s3:PutObject", s3("signed/x.pdf"))


def test_only_the_api_queues_large_starts_and_the_start_worker_reads_only_uploads():
    for function in ("WebhookFunction", "PackageWorkerFunction", "IntakeFunction", "ReconcilerFunction"):
        assert not allowed(function, "sqs:SendMessage", START_QUEUE), function
    assert allowed("ApiFunction", "sqs:SendMessage", START_QUEUE)
    assert not allowed("StartWorkerFunction", "sqs:SendMessage", START_QUEUE)
    assert not allowed("StartWorkerFunction", "sqs:SendMessage", QUEUE)
    for action in ("s3:GetObjectVersion", "s3:DeleteObjectVersion"):
        assert allowed("StartWorkerFunction", action, s3("uploads/u-1"))
    for key in ("signed/x.pdf", "incoming/x.pdf", "receipts/x/1.json"):
        assert not allowed("StartWorkerFunction", "s3:GetObject", s3(key)), key
    assert not allowed("StartWorkerFunction", "s3:PutObject", s3("uploads/u-1"))


def test_the_offline_managed_policy_loader_names_aws_managed_policies_by_their_arns():
    arns = OfflineManagedPolicies().load()

    assert (
        arns["AWSLambdaBasicExecutionRole"]
        == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    )
    assert arns["AmazonS3ReadOnlyAccess"] == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
