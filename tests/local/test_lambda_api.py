"""Lambda's Invoke API in front of the offline stack's functions, as boto3's lambda client speaks it."""

from __future__ import annotations

import json

import boto3
import pytest

from local.lambda_api import LambdaApi
from local.rie import FunctionError


def answer(name, event):
    if event.get("fail"):
        raise FunctionError(name, {"errorType": "ValueError", "errorMessage": "no", "stackTrace": ["line"]})
    return {"echo": event, "function": name}


@pytest.fixture
def lambda_client():
    with LambdaApi(answer, ["Fn"]) as api:
        yield boto3.client(
            "lambda",
            endpoint_url=api.url,
            region_name="eu-west-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )


def test_invoke_answers_the_functions_result(lambda_client):
    answer = lambda_client.invoke(FunctionName="Fn", Payload=json.dumps({"a": 1}))

    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}, "function": "Fn"}


def test_a_function_error_is_lambdas_error_payload_with_the_error_header(lambda_client):
    answer = lambda_client.invoke(FunctionName="Fn", Payload=json.dumps({"fail": True}))

    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read()) == {
        "errorType": "ValueError",
        "errorMessage": "no",
        "stackTrace": ["line"],
    }


def test_an_unknown_function_is_resource_not_found(lambda_client):
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="Other", Payload=b"{}")
