"""The stack's moto server takes concurrent DynamoDB transactions, as the API's signings start in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from local.moto import MotoServer


def test_concurrent_transactions_all_succeed():
    with MotoServer() as moto:
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=moto.endpoint_url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),  # a failure must show, not be retried away
        )
        dynamodb.create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def write(n: int) -> None:
            items = [
                {"Put": {"TableName": "t", "Item": {"pk": {"S": f"{n}-{k}"}, "v": {"S": "x" * 200}}}}
                for k in range(3)
            ]
            dynamodb.transact_write_items(TransactItems=items)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(write, range(250)))
        assert dynamodb.scan(TableName="t", Select="COUNT")["Count"] == 750
        moto.reset()
