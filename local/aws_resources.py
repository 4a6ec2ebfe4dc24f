"""Create the template's stateful AWS resources (tables, buckets, queues) against any boto3 endpoint.

Used by the tests (moto in process) and by the offline stack (moto server), so that neither can drift from
template.yaml: the definitions are read from the template, not repeated here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
ORDER = ("AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::S3::Bucket")


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a plain document (intrinsics in their long form), read the offline stack's way."""
    from local import template

    return dict(template.load_template(path).document)


@cache
def _parsed(path: Path, modified: float) -> dict[str, Any]:
    return load_template(path)


def current_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template, parsed once while the file is unchanged (tests build resources from it many times)."""
    return copy.deepcopy(_parsed(path, path.stat().st_mtime))


@dataclass
class Resource:
    logical_id: str
    type: str
    name: str
    arn: str
    url: str | None = None  # queues


@dataclass
class Resources:
    region: str
    by_id: dict[str, Resource] = field(default_factory=dict)

    def __getitem__(self, logical_id: str) -> Resource:
        return self.by_id[logical_id]

    def ref(self, logical_id: str) -> str:
        """What CloudFormation's !Ref answers: the queue URL for a queue, else the name."""
        resource = self.by_id[logical_id]
        return resource.url or resource.name

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.by_id[logical_id]
        return {"Arn": resource.arn, "QueueName": resource.name, "QueueUrl": resource.url}[attribute]


# The property that names a resource, when the template names it (else it is named `<prefix>-<logical id>`).
NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
}


def create_resources(
    session: Any,
    *,
    prefix: str,
    template: dict[str, Any] | None = None,
    endpoint_url: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Resources:
    """Create every queue, table and bucket of the template; answer their physical names, ARNs and URLs.

    `names` holds the resolved names the template gives (NAME_PROPERTIES), by logical id."""
    template = template or current_template()
    region = session.region_name
    clients = {
        service: session.client(service, endpoint_url=endpoint_url) for service in ("sqs", "dynamodb", "s3")
    }
    created = Resources(region=region)
    definitions = template["Resources"]
    for resource_type in ORDER:
        for logical_id, definition in sorted(definitions.items(), key=_queues_before_their_users):
            if definition["Type"] != resource_type:
                continue
            name = (names or {}).get(logical_id) or f"{prefix}-{logical_id}".lower()
            properties = definition.get("Properties", {})
            maker = {
                "AWS::SQS::Queue": _create_queue,
                "AWS::DynamoDB::Table": _create_table,
                "AWS::S3::Bucket": _create_bucket,
            }[resource_type]
            created.by_id[logical_id] = maker(clients, logical_id, name, properties, created)
    return created


def _queues_before_their_users(item: tuple[str, dict]) -> tuple[int, str]:
    # A dead-letter queue must exist before the queue whose redrive policy names it.
    logical_id, definition = item
    uses_redrive = "RedrivePolicy" in definition.get("Properties", {})
    return (1 if uses_redrive else 0, logical_id)


def _resolve(value: Any, created: Resources) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return created.get_att(logical_id, attribute)
        if key == "Ref":
            return created.ref(argument)
    return value


def _create_queue(clients, logical_id, name, properties, created) -> Resource:
    attributes = {
        key: str(properties[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod")
        if key in properties
    }
    if "RedrivePolicy" in properties:
        policy = properties["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": _resolve(policy["deadLetterTargetArn"], created),
                "maxReceiveCount": int(policy["maxReceiveCount"]),
            }
        )
    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Resource(logical_id, "AWS::SQS::Queue", name, arn, url)


def _create_table(clients, logical_id, name, properties, created) -> Resource:
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in properties:
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    dynamodb = clients["dynamodb"]
    arn = dynamodb.create_table(**request)["TableDescription"]["TableArn"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return Resource(logical_id, "AWS::DynamoDB::Table", name, arn)


def _create_bucket(clients, logical_id, name, properties, created) -> Resource:
    s3 = clients["s3"]
    region = created.region
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    encryption = properties.get("BucketEncryption")
    if encryption:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in encryption["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    public_access = properties.get("PublicAccessBlockConfiguration")
    if public_access:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=public_access)
    return Resource(logical_id, "AWS::S3::Bucket", name, f"arn:aws:s3:::{name}")
