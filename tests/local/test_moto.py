import gc
import json
import socket
import threading

import boto3
import pytest

from local.moto import MotoServer


def _client(endpoint_url: str):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_moto_server_serves_aws_apis_on_a_local_port_and_stops_cleanly():
    with MotoServer() as moto:
        assert moto.endpoint_url.startswith("http://127.0.0.1:")
        port = int(moto.endpoint_url.rsplit(":", 1)[1])
        sqs = _client(moto.endpoint_url)
        url = sqs.create_queue(QueueName="moto-server-test")["QueueUrl"]
        assert url in sqs.list_queues()["QueueUrls"]
        moto.reset()
        assert "QueueUrls" not in sqs.list_queues()
    assert not [thread for thread in threading.enumerate() if "_server_entry" in thread.name]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_endpoint_before_start_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not started"):
        _ = MotoServer().endpoint_url


def test_s3_notifications_name_the_object_version_and_carry_a_sequencer_as_aws_sends_them():
    """The same bytes put twice under one key are two uploads: AWS's notifications tell them apart by versionId
    (versioned bucket) and sequencer; moto's name only key, size and eTag."""
    with MotoServer() as moto:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
        )
        s3, sqs = (session.client(name, endpoint_url=moto.endpoint_url) for name in ("s3", "sqs"))
        url = sqs.create_queue(QueueName="notified")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for bucket, versioned in (("versioned", True), ("plain", False)):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            if versioned:
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={
                    "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
                },
            )
        put = [s3.put_object(Bucket="versioned", Key="incoming/a.pdf", Body=b"%PDF-same") for _ in range(2)]
        s3.put_object(Bucket="plain", Key="incoming/a.pdf", Body=b"%PDF-same")

        objects = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                body = json.loads(message["Body"])
                objects += [(r["s3"]["bucket"]["name"], r["s3"]["object"]) for r in body.get("Records", [])]
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    versioned = [found for bucket, found in objects if bucket == "versioned"]
    assert sorted(found["versionId"] for found in versioned) == sorted(answer["VersionId"] for answer in put)
    (plain,) = [found for bucket, found in objects if bucket == "plain"]
    assert "versionId" not in plain  # an unversioned bucket's objects have none
    sequencers = [found["sequencer"] for _, found in objects]
    assert len(set(sequencers)) == 3
    assert all(len(s) == 16 and int(s, 16) >= 0 for s in sequencers)


def _live(cls) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is cls)


def test_copies_moto_makes_while_serving_are_freed_not_kept_for_the_life_of_the_process():
    """moto deep-copies the table for each transaction (its rollback copy) and every object version for each
    version listing; a long run of the stack (make chaos) must not keep each copy."""
    from moto.dynamodb.models.table import Table
    from moto.s3.models import FakeKey

    with MotoServer() as moto:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
        )
        dynamodb = session.client("dynamodb", endpoint_url=moto.endpoint_url)
        dynamodb.create_table(
            TableName="copies",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = session.client("s3", endpoint_url=moto.endpoint_url)
        s3.create_bucket(Bucket="copies", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket="copies", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="copies", Key="a.pdf", Body=b"%PDF-1.7")
        tables, keys = _live(Table), _live(FakeKey)

        for n in range(20):
            put = {"Put": {"TableName": "copies", "Item": {"pk": {"S": f"p{n}"}}}}
            dynamodb.transact_write_items(TransactItems=[put])
            refused = {**put["Put"], "ConditionExpression": "attribute_not_exists(pk)"}
            with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
                dynamodb.transact_write_items(TransactItems=[{"Put": refused}])  # rolled back from its copy
            s3.list_object_versions(Bucket="copies")

        assert _live(Table) == tables
        assert _live(FakeKey) == keys
        assert dynamodb.scan(TableName="copies")["Count"] == 20  # what the copies were for still holds
        moto.reset()
