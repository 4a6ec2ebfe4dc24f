"""The test and offline AWS resources come from template.yaml itself."""

import json


def test_queue_redrives_to_the_dead_letter_queue_after_five_receives(aws):
    attributes = aws.sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq_arn = aws.resources.get_att("PackageDeadLetterQueue", "Arn")
    assert redrive == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}


def test_queue_visibility_is_at_least_six_times_the_worker_timeout(aws):
    from local.aws_resources import load_template

    template = load_template()
    worker_timeout = template["Resources"]["PackageWorkerFunction"]["Properties"]["Timeout"]
    attributes = aws.sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["VisibilityTimeout"])
    assert int(attributes["Attributes"]["VisibilityTimeout"]) >= 6 * worker_timeout


def test_table_has_the_lookup_indexes_and_ttl(aws):
    description = aws.table.meta.client.describe_table(TableName=aws.table.name)["Table"]
    assert {index["IndexName"] for index in description["GlobalSecondaryIndexes"]} == {
        "bySession",
        "byCollection",
        "byExternalReference",
        "byFollowUp",
        "byMonth",
    }
    ttl = aws.table.meta.client.describe_time_to_live(TableName=aws.table.name)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiration"


def test_documents_bucket_is_versioned_and_private(aws):
    assert aws.s3.get_bucket_versioning(Bucket=aws.bucket)["Status"] == "Enabled"
    block = aws.s3.get_public_access_block(Bucket=aws.bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def lifecycle_rules() -> dict[str, dict]:
    """The documents bucket's enabled lifecycle rules, by prefix ("" for the whole bucket)."""
    from local.aws_resources import load_template

    bucket = load_template()["Resources"]["DocumentsBucket"]["Properties"]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    by_prefix: dict[str, dict] = {}
    for rule in rules:
        if rule["Status"] == "Enabled":
            assert rule.get("Prefix", "") not in by_prefix, f"two rules for {rule.get('Prefix')!r}"
            by_prefix[rule.get("Prefix", "")] = rule
    return by_prefix


def test_every_object_the_product_keeps_expires_with_the_signing_records():
    """One parameter keeps records and objects alike; a replaced or expired version is gone a day later."""
    from local.aws_resources import load_template
    from signing_core import storage

    template = load_template()
    assert template["Globals"]["Function"]["Environment"]["Variables"]["RETENTION_DAYS"] == {
        "Ref": "RetentionDays"
    }
    rules = lifecycle_rules()
    for prefix in (storage.SIGNED, storage.COPIES, storage.RECEIPTS, storage.INCOMING):
        rule = rules.get(prefix)
        assert rule, f"nothing expires {prefix}"
        assert rule["ExpirationInDays"] == {"Ref": "RetentionDays"}, prefix
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}, prefix
    uploads = rules[storage.UPLOADS]
    assert (uploads["ExpirationInDays"], uploads["NoncurrentVersionExpiration"]) == (1, {"NoncurrentDays": 1})
    whole_bucket = rules[""]
    assert whole_bucket["ExpiredObjectDeleteMarker"] is True
    assert "NoncurrentVersionExpiration" not in whole_bucket, "a second noncurrent rule would overlap"
    assert whole_bucket["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
