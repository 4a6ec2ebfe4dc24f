"""IAM in front of moto server: what AWS refuses is refused offline, and what AWS allows works.

The policy evaluator on its own first (fast), then real boto3 calls against a MotoServer with access control on.
"""

from __future__ import annotations

import io
import json
import time
from types import SimpleNamespace

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from local.access_control import ALLOW, DENY, Call, evaluate, trusts
from local.moto import MotoServer
from local.roles import assume_role, iam_user

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/signings"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **condition) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


# --- the evaluator -----------------------------------------------------------------------------------------


def test_a_grant_scoped_to_a_resource_allows_only_that_resource():
    documents = [policy(allow(["dynamodb:PutItem"], TABLE_ARN))]

    assert evaluate(documents, Call("dynamodb:PutItem", TABLE_ARN)) == ALLOW
    assert evaluate(documents, Call("dynamodb:putitem", TABLE_ARN)) == ALLOW  # actions ignore case
    assert evaluate(documents, Call("dynamodb:PutItem", TABLE_ARN + "x")) is None
    assert evaluate(documents, Call("dynamodb:DeleteItem", TABLE_ARN)) is None


def test_wildcards_are_iam_wildcards_not_regular_expressions():
    documents = [policy(allow("s3:Get*", "arn:aws:s3:::docs/signed/*"), allow("sqs:Send?essage", "*"))]

    assert evaluate(documents, Call("s3:GetObjectVersion", "arn:aws:s3:::docs/signed/a/b.pdf")) == ALLOW
    assert evaluate(documents, Call("s3:GetObject", "arn:aws:s3:::docsXsigned/a.pdf")) is None
    assert evaluate(documents, Call("sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q")) == ALLOW


def test_an_explicit_deny_wins_over_any_allow():
    documents = [
        policy(allow("s3:*", "*")),
        policy({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*"}),
    ]

    assert evaluate(documents, Call("s3:GetObject", "arn:aws:s3:::docs/a")) == ALLOW
    assert evaluate(documents, Call("s3:PutObject", "arn:aws:s3:::docs/a")) == DENY


def test_list_bucket_limited_by_prefix_needs_the_prefix_in_the_request():
    documents = [policy(allow("s3:ListBucket", "arn:aws:s3:::docs", StringLike={"s3:prefix": ["signed/*"]}))]
    bucket = "arn:aws:s3:::docs"

    assert evaluate(documents, Call("s3:ListBucket", bucket, {"s3:prefix": ["signed/a.pdf"]})) == ALLOW
    assert evaluate(documents, Call("s3:ListBucket", bucket, {"s3:prefix": ["uploads/"]})) is None
    assert evaluate(documents, Call("s3:ListBucket", bucket, {})) is None  # no prefix: the key is missing


def test_leading_keys_for_all_values_holds_only_when_every_key_matches():
    documents = [
        policy(
            allow(
                "dynamodb:PutItem",
                TABLE_ARN,
                **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["EVENT#*"]}},
            )
        )
    ]

    def leading(*keys):
        return Call("dynamodb:PutItem", TABLE_ARN, {"dynamodb:LeadingKeys": list(keys)})

    assert evaluate(documents, leading("EVENT#1")) == ALLOW
    assert evaluate(documents, leading("EVENT#1", "SIGNING#2")) is None
    assert evaluate(documents, leading("SIGNING#2")) is None


def test_negated_and_if_exists_operators_follow_aws_for_a_missing_key():
    def documents(operator):
        return [policy(allow("s3:GetObject", "*", **{operator: {"s3:versionid": ["v1"]}}))]

    call = Call("s3:GetObject", "arn:aws:s3:::docs/a")
    assert evaluate(documents("StringNotEquals"), call) == ALLOW
    assert evaluate(documents("StringEqualsIfExists"), call) == ALLOW
    assert evaluate(documents("StringEquals"), call) is None


def test_a_condition_operator_the_evaluator_does_not_know_never_allows_and_always_denies():
    unknown = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    granted = [policy(allow("s3:GetObject", "*", **unknown))]
    refused = [
        policy(allow("s3:*", "*")),
        policy({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown}),
    ]

    assert evaluate(granted, Call("s3:GetObject", "arn:aws:s3:::docs/a")) is None
    assert evaluate(refused, Call("s3:GetObject", "arn:aws:s3:::docs/a")) == DENY


def test_a_trust_policy_naming_a_service_trusts_only_who_stands_in_for_it():
    trust = policy(
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
    )
    user = f"arn:aws:iam::{ACCOUNT}:user/someone"

    assert trusts(trust, user, "lambda.amazonaws.com")
    assert not trusts(trust, user, None)
    assert trusts(
        policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}), user, None
    )


# --- against moto server --------------------------------------------------------------------------------


def _client(service, endpoint, keys=None, **config):
    keys = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=Config(**config), **keys)


@pytest.fixture(scope="module")
def aws():
    """moto with access control on: an admin, a stand-in for Lambda, and a role as SAM would write it."""
    server = MotoServer(access_control=True).start()
    endpoint = server.endpoint_url
    iam = _client("iam", endpoint)
    admin_keys = iam_user(iam, "admin", managed="arn:aws:iam::aws:policy/AdministratorAccess")
    lambda_keys = iam_user(iam, "lambda-service", inline=policy(allow("sts:AssumeRole", "*")))
    server.access_control.service_principals[f"arn:aws:iam::{ACCOUNT}:user/lambda-service"] = (
        "lambda.amazonaws.com"
    )

    server.access_control.enable()
    admin = SimpleNamespace(
        **{
            s: _client(s, endpoint, admin_keys)
            for s in ("s3", "dynamodb", "iam", "sts", "sqs", "secretsmanager", "ssm")
        }
    )
    for table in ("signings", "others"):
        admin.dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    admin.s3.create_bucket(Bucket="docs-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    admin.s3.put_bucket_versioning(Bucket="docs-bucket", VersioningConfiguration={"Status": "Enabled"})
    admin.s3.put_object(Bucket="docs-bucket", Key="signed/there.pdf", Body=b"%PDF-")
    queue = admin.sqs.create_queue(QueueName="jobs")["QueueUrl"]
    secret = admin.secretsmanager.create_secret(Name="mine", SecretString="s")["ARN"]
    admin.secretsmanager.create_secret(Name="theirs", SecretString="t")
    admin.ssm.put_parameter(Name="/esign/trust-roots", Value="PEM", Type="String")
    admin.ssm.put_parameter(Name="/other/setting", Value="x", Type="String")
    trust = policy(
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
    )
    role_arn = admin.iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    grants = policy(
        allow(
            ["dynamodb:PutItem", "dynamodb:GetItem"],
            TABLE_ARN,
            **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["EVENT#*"]}},
        ),
        allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], "arn:aws:s3:::docs-bucket/signed/*"),
        allow("s3:ListBucket", "arn:aws:s3:::docs-bucket", StringLike={"s3:prefix": ["signed/*"]}),
        allow("s3:DeleteObjectVersion", "arn:aws:s3:::docs-bucket/signed/scratch/*"),
        allow("sqs:SendMessage*", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"),
        allow("secretsmanager:GetSecretValue", secret),
        allow("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/esign/trust-roots"),
    )
    admin.iam.put_role_policy(RoleName="worker", PolicyName="grants", PolicyDocument=json.dumps(grants))
    admin.iam.attach_role_policy(
        RoleName="worker", PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    )
    role_keys = assume_role(_client("sts", endpoint, lambda_keys), role_arn, "Worker")
    try:
        yield SimpleNamespace(
            server=server,
            endpoint=endpoint,
            admin=admin,
            admin_keys=admin_keys,
            role_keys=role_keys,
            role_arn=role_arn,
            queue=queue,
            secret=secret,
            role=lambda service, **config: _client(service, endpoint, role_keys, **config),
        )
    finally:
        server.reset()
        server.stop()


def _code(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_the_default_testing_keys_are_refused_once_access_control_is_on(aws):
    assert _code(lambda: _client("s3", aws.endpoint).list_buckets()) == "InvalidClientTokenId"
    assert _code(lambda: _client("dynamodb", aws.endpoint).list_tables()) == "UnrecognizedClientException"
    assert [b["Name"] for b in aws.admin.s3.list_buckets()["Buckets"]] == ["docs-bucket"]


def test_a_request_signed_with_the_wrong_secret_is_refused(aws):
    forged = {**aws.admin_keys, "aws_secret_access_key": "not-the-secret"}

    assert _code(lambda: _client("s3", aws.endpoint, forged).list_buckets()) == "SignatureDoesNotMatch"
    assert (
        _code(lambda: _client("dynamodb", aws.endpoint, forged).list_tables()) == "InvalidSignatureException"
    )


def test_a_role_writes_the_items_its_leading_keys_allow_and_nothing_else(aws):
    dynamodb = aws.role("dynamodb")
    dynamodb.put_item(TableName="signings", Item={"pk": {"S": "EVENT#1"}})

    assert dynamodb.get_item(TableName="signings", Key={"pk": {"S": "EVENT#1"}})["Item"]
    assert (
        _code(lambda: dynamodb.put_item(TableName="signings", Item={"pk": {"S": "SIGNING#1"}}))
        == "AccessDeniedException"
    )
    assert (
        _code(lambda: dynamodb.put_item(TableName="others", Item={"pk": {"S": "EVENT#1"}}))
        == "AccessDeniedException"
    )
    assert (
        _code(lambda: dynamodb.delete_item(TableName="signings", Key={"pk": {"S": "EVENT#1"}}))
        == "AccessDeniedException"
    )
    denial = aws.server.access_control.denials[-1]
    assert (denial.caller, denial.action) == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/Worker",
        "dynamodb:DeleteItem",
    )


def test_a_role_lists_only_under_the_prefix_its_condition_names(aws):
    s3 = aws.role("s3")

    listed = s3.list_objects_v2(Bucket="docs-bucket", Prefix="signed/there.pdf")["Contents"]
    assert [o["Key"] for o in listed] == ["signed/there.pdf"]
    assert _code(lambda: s3.list_objects_v2(Bucket="docs-bucket", Prefix="uploads/")) == "AccessDenied"
    assert _code(lambda: s3.list_objects_v2(Bucket="docs-bucket")) == "AccessDenied"


def test_a_missing_key_is_403_for_a_caller_without_list_bucket_and_404_for_one_with_it(aws):
    s3 = aws.role("s3")

    assert s3.get_object(Bucket="docs-bucket", Key="signed/there.pdf")["Body"].read() == b"%PDF-"
    # A ListBucket limited by prefix does not count: a GetObject carries no s3:prefix.
    assert _code(lambda: s3.get_object(Bucket="docs-bucket", Key="signed/missing.pdf")) == "AccessDenied"
    assert _code(lambda: s3.head_object(Bucket="docs-bucket", Key="signed/missing.pdf")) == "403"
    assert (
        _code(lambda: aws.admin.s3.get_object(Bucket="docs-bucket", Key="signed/missing.pdf")) == "NoSuchKey"
    )
    assert _code(lambda: aws.admin.s3.head_object(Bucket="docs-bucket", Key="signed/missing.pdf")) == "404"


def test_a_role_writes_objects_only_under_its_prefix(aws):
    s3 = aws.role("s3")
    s3.put_object(Bucket="docs-bucket", Key="signed/new.pdf", Body=b"x")

    assert (
        _code(lambda: s3.put_object(Bucket="docs-bucket", Key="uploads/new.pdf", Body=b"x")) == "AccessDenied"
    )
    assert _code(lambda: s3.delete_object(Bucket="docs-bucket", Key="signed/new.pdf")) == "AccessDenied"


def test_presigned_urls_carry_the_signers_permissions_and_break_when_tampered_with_or_expired(aws):
    s3 = aws.role("s3", signature_version="s3v4")
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "docs-bucket", "Key": "signed/there.pdf"})
    put = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": "docs-bucket", "Key": "signed/up.pdf", "ContentType": "application/pdf"},
    )
    elsewhere = s3.generate_presigned_url("put_object", Params={"Bucket": "docs-bucket", "Key": "uploads/x"})
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "docs-bucket", "Key": "signed/there.pdf"}, ExpiresIn=1
    )

    assert requests.get(get, timeout=10).content == b"%PDF-"
    assert (
        requests.put(put, data=b"%PDF-", headers={"Content-Type": "application/pdf"}, timeout=10).status_code
        == 200
    )
    assert (
        requests.put(put, data=b"%PDF-", headers={"Content-Type": "text/plain"}, timeout=10).status_code
        == 403
    )
    assert (
        requests.get(
            get.replace("signed%2Fthere", "signed%2Fother").replace("signed/there", "signed/other"),
            timeout=10,
        ).status_code
        == 403
    )
    assert requests.put(elsewhere, data=b"x", timeout=10).status_code == 403
    time.sleep(1.5)
    answer = requests.get(expired, timeout=10)
    assert answer.status_code == 403 and b"Request has expired" in answer.content


def test_a_role_reads_only_its_own_secret_and_sends_only_to_its_queue(aws):
    secrets, sqs = aws.role("secretsmanager"), aws.role("sqs")

    assert secrets.get_secret_value(SecretId=aws.secret)["SecretString"] == "s"
    assert _code(lambda: secrets.get_secret_value(SecretId="theirs")) == "AccessDeniedException"
    sqs.send_message(QueueUrl=aws.queue, MessageBody="hello")
    assert _code(lambda: sqs.get_queue_url(QueueName="jobs")) in ("AccessDenied", "AccessDeniedException")
    assert _code(lambda: sqs.receive_message(QueueUrl=aws.queue)) in ("AccessDenied", "AccessDeniedException")


def test_a_role_reads_only_the_parameter_its_policy_names(aws):
    ssm = aws.role("ssm")

    assert ssm.get_parameter(Name="/esign/trust-roots")["Parameter"]["Value"] == "PEM"
    assert _code(lambda: ssm.get_parameter(Name="/other/setting")) == "AccessDeniedException"
    assert _code(lambda: ssm.get_parameters(Names=["/esign/trust-roots"])) == "AccessDeniedException"


def test_a_multipart_upload_needs_put_object_and_aborting_it_abort_multipart_upload(aws):
    from boto3.s3.transfer import TransferConfig

    s3 = aws.role("s3")
    five_mib = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(b"x" * (11 * 1024 * 1024)), "docs-bucket", "signed/big.pdf", Config=five_mib)
    started = s3.create_multipart_upload(Bucket="docs-bucket", Key="signed/abandoned.pdf")

    assert s3.head_object(Bucket="docs-bucket", Key="signed/big.pdf")["ContentLength"] == 11 * 1024 * 1024
    aborted = lambda: s3.abort_multipart_upload(  # noqa: E731
        Bucket="docs-bucket", Key="signed/abandoned.pdf", UploadId=started["UploadId"]
    )
    assert _code(aborted) == "AccessDenied"  # the role grants s3:PutObject only
    assert aws.server.access_control.denials[-1].action == "s3:AbortMultipartUpload"


def test_delete_objects_is_authorized_for_every_object_it_names(aws):
    s3 = aws.role("s3")
    version = aws.admin.s3.put_object(Bucket="docs-bucket", Key="signed/scratch/a", Body=b"a").get(
        "VersionId"
    )
    there = aws.admin.s3.head_object(Bucket="docs-bucket", Key="signed/there.pdf").get("VersionId")

    def delete(*objects):
        return lambda: s3.delete_objects(
            Bucket="docs-bucket", Delete={"Objects": list(objects), "Quiet": True}
        )

    assert (
        _code(
            delete(
                {"Key": "signed/scratch/a", "VersionId": version},
                {"Key": "signed/there.pdf", "VersionId": there},
            )
        )
        == "AccessDenied"
    )
    assert (
        _code(delete({"Key": "signed/scratch/a"})) == "AccessDenied"
    )  # a delete marker needs s3:DeleteObject
    assert delete({"Key": "signed/scratch/a", "VersionId": version})().get("Errors") is None


def test_a_sigv2_presigned_url_is_refused_as_new_buckets_refuse_it(aws):
    url = aws.role("s3", signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": "docs-bucket", "Key": "signed/there.pdf"}
    )

    answer = requests.get(url, timeout=10)
    assert "AWSAccessKeyId=" in url
    assert (answer.status_code, b"<Code>InvalidRequest</Code>" in answer.content) == (400, True)


def test_storage_tells_a_missing_key_from_a_stored_one_with_list_bucket_limited_to_its_prefix(
    aws, monkeypatch
):
    from signing_core import aws as core_aws
    from signing_core import storage

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    for name, value in aws.role_keys.items():
        monkeypatch.setenv(name.upper(), value)
    core_aws.reset()
    try:
        missing = storage.find_signed_pdf("docs-bucket", "signed/missing.pdf", "doc-1")
        peeked_missing = storage.peek("docs-bucket", "signed/missing.pdf", 5)
        peeked = storage.peek("docs-bucket", "signed/there.pdf", 5)
    finally:
        core_aws.reset()

    assert missing is None and peeked_missing is None
    assert peeked.head == b"%PDF-"


def test_only_the_service_a_trust_policy_names_assumes_the_role(aws):
    assert (
        _code(lambda: aws.admin.sts.assume_role(RoleArn=aws.role_arn, RoleSessionName="me")) == "AccessDenied"
    )
    assert aws.role("sts").get_caller_identity()["Arn"].endswith(":assumed-role/worker/Worker")
