import json
import threading
import time

import boto3
import pytest

from local.moto import MotoServer
from local.sqs_source import SqsEventSource, succeeded_messages, to_record

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def sqs(moto):
    moto.reset()
    return boto3.client(
        "sqs",
        endpoint_url=moto.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _queues(sqs, max_receive_count: int = 2):
    dlq = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
    queue = sqs.create_queue(
        QueueName="jobs", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]
    return queue, dlq


def _wait_until(condition, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _count(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


class FailingFunction:
    """Reports the message with body "poison" as a batch item failure, handles the rest."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, event):
        with self.lock:
            self.events.append(event)
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "poison"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def bodies(self) -> list[str]:
        with self.lock:
            return [record["body"] for event in self.events for record in event["Records"]]


def test_failed_batch_item_comes_back_others_are_deleted_and_it_ends_in_the_dlq(sqs):
    queue, dlq = _queues(sqs, max_receive_count=2)
    for body in ("one", "poison", "two"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    function = FailingFunction()
    with SqsEventSource(
        sqs,
        queue,
        function,
        batch_size=10,
        report_batch_item_failures=True,
        region=REGION,
        name="jobs-source",
    ):
        _wait_until(lambda: _count(sqs, dlq) == 1)
    assert "jobs-source" not in {thread.name for thread in threading.enumerate()}
    bodies = function.bodies()
    assert bodies.count("one") == 1
    assert bodies.count("two") == 1
    assert bodies.count("poison") == 2  # maxReceiveCount deliveries, then the dead-letter queue
    assert _count(sqs, queue) == 0
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert [message["Body"] for message in moved] == ["poison"]


def test_function_error_deletes_nothing(sqs):
    queue, _ = _queues(sqs, max_receive_count=100)
    sqs.send_message(QueueUrl=queue, MessageBody="a")
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("boom")

    source = SqsEventSource(sqs, queue, broken, region=REGION)
    source.start()
    try:
        _wait_until(lambda: len(calls) >= 2)
    finally:
        source.stop()
    assert _count(sqs, queue) == 1


def test_records_have_lambdas_sqs_event_shape(sqs):
    queue, _ = _queues(sqs)
    sqs.send_message(
        QueueUrl=queue,
        MessageBody='{"event": {}}',
        MessageAttributes={
            "eventId": {"DataType": "String", "StringValue": "e-1"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    events = []
    source = SqsEventSource(sqs, queue, events.append, batch_size=5, region=REGION, queue_arn="arn:q")
    assert source.poll_once() == 1
    record = events[0]["Records"][0]
    assert record["body"] == '{"event": {}}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:q"
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["eventId"] == {
        "stringValue": "e-1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["raw"]["binaryValue"] == "AAE="
    assert record["receiptHandle"]
    assert _count(sqs, queue) == 0  # a returned invocation deletes the batch


def _records(*ids):
    return [to_record({"MessageId": i, "ReceiptHandle": f"r-{i}", "Body": ""}, "arn", REGION) for i in ids]


def test_partial_batch_response_rules_follow_lambda():
    records = _records("a", "b")
    failure_b = {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert succeeded_messages(records, failure_b, True) == records[:1]
    assert succeeded_messages(records, failure_b, False) == records  # not enabled: the response is ignored
    assert succeeded_messages(records, {"batchItemFailures": []}, True) == records
    assert succeeded_messages(records, None, True) == records
    assert succeeded_messages(records, {"batchItemFailures": [{"itemIdentifier": "zz"}]}, True) == []
    assert succeeded_messages(records, {"batchItemFailures": [{"id": "a"}]}, True) == []
