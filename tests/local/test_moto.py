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
