"""The chaos run: N signings through the offline stack with the emulator's faults on and a seeded mix of what
signers and callers do, then a count of what was lost, done twice, ended wrongly or never announced.

    python -m local.chaos --signings 1000 [--clients 4] [--seed 7] [--deadline 600] [--out out/chaos-report.json]

Faults: 10 % of Sign API calls answer 503 and 5 % answer 429 with Retry-After; 20 % of webhook deliveries are
sent twice, 10 % reordered, 5 % never sent (the reconciler, run with RECONCILE_AFTER_MINUTES=0 on a short
schedule, recovers those); some PAdES downloads stall mid-body longer than the package worker's lowered
timeout, so the runtime kills the worker mid-stream and the package queue (its visibility lowered to match)
hands the batch out again. Clients retry a POST /signings answered 5xx/409/429 with the same Idempotency-Key.

The mix (local/chaos_mix.py, from the seed): API or drop folder (clashing names), one to three signers in
parallel or sequence, everyone signs / one rejects / the caller cancels before, racing or after the last
signature. Each signing's expected final state follows from what was done to it.

Writes the report (docs/chaos.md explains every field) and exits 1 on any lost, duplicated, unstarted, wrongly
ended or unannounced signing, 0 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import requests

from local import chaos_mix
from local.chaos_mix import Cancel, Plan
from local.rie import REPO

FINAL_STATES = {"COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"}
WORKER = "PackageWorkerFunction"
RECONCILER = "ReconcilerFunction"
# The run's faults; stall_seconds is filled in from the worker's timeout.
FAULTS = {
    "error_rate": 0.10,
    "throttle_rate": 0.05,
    "retry_after": 1,
    "duplicate_rate": 0.20,
    "reorder_rate": 0.10,
    "drop_rate": 0.05,
    "stall_rate": 0.03,
}
# What the run lowers so that a killed worker's batch comes back within the run.
WORKER_TIMEOUT = 6  # seconds (template: 120)
QUEUE_VISIBILITY = 6 * WORKER_TIMEOUT  # seconds (template: 720, "at least six times the worker's timeout")
STALL_EXTRA = 4  # a stalled download waits this much longer than the worker may live
RECONCILE_EVERY = 10  # seconds between reconciler runs (template: rate(15 minutes))
CONCURRENCY = {"ApiFunction": 4, "WebhookFunction": 2, WORKER: 2}
WORKER_POLLERS = 2  # SQS pollers on the package queue, so two batches run at once as on Lambda
POST_ATTEMPTS = 10
HTTP_TIMEOUT = 60
RETRYABLE = {409, 429, 500, 502, 503, 504}
_REPORT_LINE = re.compile(
    r"^REPORT RequestId: \S+\s+(?:Init Duration: [\d.]+ ms\s+)?Duration: ([\d.]+) ms", re.M
)


class ChaosError(RuntimeError):
    """The run could not be carried out (not: the run found a loss; that is the report's business)."""


@dataclass
class Client:
    """One client's signing: its request, the attempts it took, and what came back."""

    index: int
    external_reference: str
    plan: Plan
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    answers: list[int] = field(default_factory=list)  # HTTP status of every POST attempt
    signing_id: str | None = None
    session_ids: list[str] = field(default_factory=list)
    collection_id: str | None = None  # a collection's package event may name it instead of a session
    started_at: float = 0.0  # first POST, wall clock
    signed_at: float = 0.0  # the signer signed at the emulator, wall clock
    error: str | None = None
    cancel: Cancel | None = None  # the caller's DELETE, when the plan cancels
    refused: list[str] = field(default_factory=list)  # signers' actions the emulator refused (a cancel won)


@cache
def document_b64() -> str:
    from local.pdf import sample_pdf

    return base64.b64encode(
        sample_pdf("Chaos agreement", ["One document, one signer, many faults."])
    ).decode()


def signing_request(client: Client) -> dict[str, Any]:
    return {
        "title": f"Chaos signing {client.index}",
        "externalReference": client.external_reference,
        "documents": [
            {"filename": "agreement.pdf", "contentType": "application/pdf", "content": document_b64()}
        ],
        "signers": [{"email": email} for email in chaos_mix.signer_emails(client.plan, client.index)],
        "signingOrder": client.plan.order,
    }


class Clients:
    """A small pool of client threads, each with its own HTTP session, behaving like a careful real client."""

    def __init__(self, api_url: str, emulator_url: str, s3: Any, bucket: str) -> None:
        self.api_url = api_url
        self.emulator_url = emulator_url
        self.s3, self.bucket = s3, bucket  # the drop folder
        self.signers = chaos_mix.Signers(api_url, emulator_url)
        self._local = threading.local()

    def _http(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def run(self, client: Client) -> Client:
        try:
            if client.plan.origin == chaos_mix.ORIGIN_DROP:
                self._drop(client)
            else:
                self._start(client)
            if client.signing_id:
                client.cancel, client.refused = self.signers.act(
                    client.plan, client.signing_id, client.session_ids
                )
                client.signed_at = time.time()
        except Exception as error:
            client.error = f"{type(error).__name__}: {error}"
        return client

    def _start(self, client: Client) -> None:
        """POST /signings; a 5xx, 409 (in progress) or 429 is retried with the same Idempotency-Key."""
        client.started_at = time.time()
        headers = {"Idempotency-Key": client.idempotency_key}
        for attempt in range(POST_ATTEMPTS):
            try:
                answer = self._http().post(
                    f"{self.api_url}/signings",
                    json=signing_request(client),
                    headers=headers,
                    timeout=HTTP_TIMEOUT,
                )
            except requests.RequestException as error:
                client.answers.append(0)
                client.error = f"POST /signings: {error}"
            else:
                client.answers.append(answer.status_code)
                if answer.status_code == 201:
                    body = answer.json()
                    client.signing_id = body["signingId"]
                    client.session_ids = [session["sessionId"] for session in body["sessions"]]
                    client.collection_id = body["documentCollectionId"]
                    client.error = None
                    return
                client.error = f"POST /signings answered {answer.status_code}: {answer.text[:300]}"
                if answer.status_code not in RETRYABLE:
                    return
            time.sleep(min(8.0, 0.25 * 2**attempt))

    def _drop(self, client: Client) -> None:
        """Put the document under incoming/<name> and find its signing in the receipt the drop folder writes."""
        name = client.plan.drop_name
        client.started_at = time.time()
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"incoming/{name}",
            Body=chaos_mix.drop_body(client.plan, base64.b64decode(document_b64()), client.index),
            Metadata=chaos_mix.drop_metadata(client.plan, client.index, client.external_reference),
        )
        receipt = chaos_mix.wait_for_receipt(self.s3, self.bucket, name, client.external_reference)
        if receipt is None or not receipt.get("signingId"):
            client.error = f"incoming/{name}: no receipt with a signing: {receipt}"
            return
        client.signing_id = receipt["signingId"]
        client.session_ids = [session["sessionId"] for session in receipt["sessions"]]


# --- the stack --------------------------------------------------------------------------------------


def start_stack(out_dir: Path, seed: int, worker_timeout: int, reconcile_every: float) -> Any:
    from local.emulator.config import EmulatorConfig, Faults
    from local.sqs_source import SqsEventSource
    from local.stack import LocalStack

    os.environ["LOCAL_SCHEDULE_SECONDS"] = str(reconcile_every)  # read by the schedule source as it starts
    faults = Faults(**FAULTS, stall_seconds=worker_timeout + STALL_EXTRA)
    stack = LocalStack(
        out_dir=out_dir,
        environ={},  # the emulator, whatever SIGNICAT_* the shell holds
        emulator_config=EmulatorConfig(faults=faults, seed=seed),
        concurrency=CONCURRENCY,
        prefix="chaos",
        parameters={"ReconcileAfterMinutes": "0"},
        overrides={
            WORKER: {"Timeout": worker_timeout},
            "PackageQueue": {"VisibilityTimeout": 6 * worker_timeout},
        },
    )
    stack.start()
    try:
        queue = stack.queue_by_arn(_arn_of(stack, stack.info["queueUrl"]))
        worker = stack.functions[WORKER]
        for number in range(2, WORKER_POLLERS + 1):
            poller = SqsEventSource(
                stack.client("sqs", WORKER),
                queue.url,
                worker.invoke,
                batch_size=5,
                report_batch_item_failures=True,
                region=stack.region,
                queue_arn=queue.arn,
                name=f"{WORKER}.chaos-poller-{number}",
            )
            stack.sources.append(stack.start_component(poller))
    except BaseException:
        stack.stop()
        raise
    return stack


def _arn_of(stack: Any, queue_url: str) -> str:
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


# --- observing ---------------------------------------------------------------------------------------


def signing_items(stack: Any) -> list[dict[str, Any]]:
    """Every signing item in the table (a scan: the run's own table, read directly from moto)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    dynamodb = stack.client("dynamodb")
    items, start = [], None
    while True:
        page = dynamodb.scan(
            TableName=stack.info["table"],
            FilterExpression="sk = :s",
            ExpressionAttributeValues={":s": {"S": "SIGNING"}},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def wait_until_final(stack: Any, signing_ids: set[str], deadline: float, progress) -> dict[str, dict]:
    """Poll the table until every signing is final or the deadline passes; answers the items by id."""
    while True:
        items = {item["signingId"]: item for item in signing_items(stack)}
        waiting = [sid for sid in signing_ids if items.get(sid, {}).get("state") not in FINAL_STATES]
        progress(f"{len(signing_ids) - len(waiting)}/{len(signing_ids)} final")
        if not waiting or time.monotonic() > deadline:
            return items
        time.sleep(2 if len(waiting) < 50 else 5)


def queue_depth(stack: Any, url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_drained(stack: Any, timeout: float) -> tuple[bool, float]:
    """Until the package queue is empty (late duplicates done too), so nothing can still add a version."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if queue_depth(stack, stack.info["queueUrl"]) == 0:
            return True, time.monotonic() - began
        time.sleep(1)
    return False, time.monotonic() - began


def s3_versions(stack: Any) -> dict[str, list[dict]]:
    """Every version and delete marker under signed/, by key."""
    s3 = stack.client("s3")
    by_key: dict[str, list[dict]] = defaultdict(list)
    for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=stack.info["documentsBucket"], Prefix="signed/"
    ):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            by_key[version["Key"]].append(version)
    return dict(by_key)


def stored_document_problem(stack: Any, document: dict[str, Any] | None) -> str | None:
    """None when the signing's S3 object is there with the recorded size and sha256; else what is wrong."""
    if not document:
        return "COMPLETED without signedDocument"
    try:
        body = stack.client("s3").get_object(Bucket=document["bucket"], Key=document["key"])["Body"].read()
    except Exception as error:
        return f"s3://{document['bucket']}/{document['key']} unreadable: {error}"
    if len(body) != int(document["size"]) or hashlib.sha256(body).hexdigest() != document["sha256"]:
        return f"s3://{document['bucket']}/{document['key']} differs from the recorded size/sha256"
    if not body.startswith(b"%PDF-"):
        return "the stored object is not a PDF"
    return None


def event_bus_name(stack: Any) -> str:
    """The bus the functions announce on, as the stack resolved their EVENT_BUS_NAME."""
    for runner in stack.functions.values():
        if runner.spec.environment.get("EVENT_BUS_NAME"):
            return runner.spec.environment["EVENT_BUS_NAME"]
    raise ChaosError("no function of the stack has EVENT_BUS_NAME")


class Announcements:
    """The product's final-state events, as another system sees them: an EventBridge rule (moto server) on the
    functions' bus routes source esign.signing to a queue of the run's own, read here."""

    RULE = "chaos-announced"

    def __init__(self, stack: Any) -> None:
        self.sqs, events = stack.client("sqs"), stack.client("events")
        self.url = self.sqs.create_queue(QueueName=f"{stack.prefix}-announced")["QueueUrl"]
        bus = event_bus_name(stack)
        events.put_rule(
            Name=self.RULE, EventBusName=bus, EventPattern=json.dumps({"source": ["esign.signing"]})
        )
        events.put_targets(
            Rule=self.RULE, EventBusName=bus, Targets=[{"Id": "queue", "Arn": _arn_of(stack, self.url)}]
        )
        self.states: dict[str, list[str]] = defaultdict(list)  # signingId -> the states announced, in order

    def read(self) -> dict[str, list[str]]:
        while messages := self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", []):
            for message in messages:
                detail = json.loads(message["Body"]).get("detail") or {}
                self.states[str(detail.get("signingId"))].append(str(detail.get("state")))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.states

    def wait(self, finals: dict[str, str], timeout: float) -> tuple[dict[str, list[str]], float]:
        """Until every final signing's state was announced (the reconciler re-announces), or the timeout."""
        began = time.monotonic()
        while True:
            states = self.read()
            missing = [sid for sid, state in finals.items() if state not in states.get(sid, [])]
            if not missing or time.monotonic() - began > timeout:
                return states, time.monotonic() - began
            time.sleep(1)


def dead_letters(stack: Any) -> list[dict[str, Any]]:
    """The dead-letter queue's messages, read without deleting them (each once, by message id)."""
    sqs = stack.client("sqs")
    url = stack.info.get("dlqUrl")
    seen: dict[str, dict] = {}
    if not url:
        return []
    for _ in range(50):
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=600,
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen[message["MessageId"]] = message
    return list(seen.values())


class Logs:
    """What the functions' logs say happened during the run (the runtime emulator writes them)."""

    def __init__(self, paths: dict[str, str]) -> None:
        self.text = {
            name: Path(path).read_text(errors="replace") if Path(path).exists() else ""
            for name, path in paths.items()
        }

    def worker_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.text.get(WORKER, "").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def reconciled(self) -> dict[str, int]:
        """The reconciler's own counts, summed over its runs."""
        totals: Counter[str] = Counter()
        for line in self.text.get(RECONCILER, "").splitlines():
            if line.startswith("{") and '"reconciled"' in line:
                record = json.loads(line)
                totals.update({key: int(record.get(key, 0)) for key in ("checked", "queued", "expired")})
        return dict(totals)

    def timeouts(self, function: str) -> int:
        return self.text.get(function, "").count("Reset initiated: Timeout")

    def busy_seconds(self) -> dict[str, float]:
        return {
            name: round(sum(float(ms) for ms in _REPORT_LINE.findall(text)) / 1000, 1)
            for name, text in self.text.items()
        }

    def invocations(self) -> dict[str, int]:
        return {name: len(_REPORT_LINE.findall(text)) for name, text in self.text.items()}


def drop_folder_problem(stack: Any, client: Client, item: dict[str, Any]) -> str | None:
    """None when the dropped name's receipt has the final state and, when COMPLETED, its copy is the PAdES."""
    s3, bucket, name = stack.client("s3"), stack.info["intakeBucket"], client.plan.drop_name
    receipt_key = f"receipts/{name}/{client.signing_id}.json"
    try:
        receipt = json.loads(s3.get_object(Bucket=bucket, Key=receipt_key)["Body"].read())
    except Exception as error:
        return f"{receipt_key} unreadable: {error}"
    if receipt.get("state") != item["state"]:
        return f"{receipt_key} says {receipt.get('state')}, the signing is {item['state']}"
    if item["state"] != "COMPLETED":
        return None
    copy_key = f"copies/{name}/{client.signing_id}.pdf"
    try:
        body = s3.get_object(Bucket=bucket, Key=copy_key)["Body"].read()
    except Exception as error:
        return f"{copy_key} unreadable: {error}"
    if hashlib.sha256(body).hexdigest() != item["signedDocument"]["sha256"]:
        return f"{copy_key} is not the signing's PAdES"
    return None


def transitions_allowed(plan: Plan) -> int:
    """The highest `version` a signing of this plan can reach with every change applied once."""
    session_steps = plan.signers + (plan.signers - 1 if plan.order == "sequential" else 0)
    return 1 + session_steps + 2


def _wrong_state(client: Client, item: dict[str, Any], expected: list[str]) -> dict[str, Any]:
    return {
        "signingId": client.signing_id,
        "index": client.index,
        "state": item["state"],
        "expected": expected,
        "plan": dataclasses.asdict(client.plan),
        "cancelAnswers": client.cancel.answers if client.cancel else None,
        "cancelDetail": client.cancel.detail if client.cancel else None,
        "refused": client.refused,
        "failure": item.get("failure"),
    }


# --- the report --------------------------------------------------------------------------------------


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)

    return {
        "p50": at(0.5),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def build_report(
    stack: Any,
    clients: list[Client],
    items: dict[str, dict],
    logs: Logs,
    stats: dict[str, Any],
    timings: dict,
    announced: dict[str, list[str]],
) -> dict[str, Any]:
    started = [client for client in clients if client.signing_id]
    unstarted = [client for client in clients if not client.signing_id]
    versions = s3_versions(stack)
    records = logs.worker_records()

    # Lost: started but not final by the deadline, or COMPLETED without its object in S3 (and, when dropped,
    # without its copy and final receipt beside the dropped name).
    lost = []
    for client in started:
        item = items.get(client.signing_id)
        state = item.get("state") if item else None
        problem = None
        if item is None:
            problem = "no signing item"
        elif state not in FINAL_STATES:
            problem = f"{state} at the deadline"
        elif state == "COMPLETED":
            problem = stored_document_problem(stack, item.get("signedDocument"))
        if not problem and item and client.plan.drop_name and state in FINAL_STATES:
            problem = drop_folder_problem(stack, client, item)
        if problem:
            lost.append({"signingId": client.signing_id, "index": client.index, "problem": problem})

    # Wrong final states: a final state other than what the run's actions call for (chaos_mix.expected_states).
    wrong_states = []
    for client in started:
        state = items.get(client.signing_id, {}).get("state")
        expected = chaos_mix.expected_states(client.plan, client.cancel)
        if state in FINAL_STATES and state not in expected:
            wrong_states.append(_wrong_state(client, items[client.signing_id], sorted(expected)))

    # Unannounced: a final signing whose final state no EventBridge event announced.
    finals = {
        client.signing_id: items[client.signing_id]["state"]
        for client in started
        if items.get(client.signing_id, {}).get("state") in FINAL_STATES
    }
    unannounced = [
        {"signingId": sid, "state": state, "announced": announced.get(sid, [])}
        for sid, state in finals.items()
        if state not in announced.get(sid, [])
    ]
    announced_otherwise = [
        {"signingId": sid, "state": state, "announced": announced[sid]}
        for sid, state in finals.items()
        if set(announced.get(sid, [])) - {state}
    ]
    wrong_states += [{**entry, "problem": "announced another state"} for entry in announced_otherwise]

    # Duplicates, three ways.
    # 1. S3: one version under signed/<signingId>.pdf per COMPLETED signing; any more (or a delete marker) is a
    #    second store, and a key of no COMPLETED signing is an object without its record (or a cancelled
    #    signing's left-over PAdES).
    extra_versions = {key: len(found) - 1 for key, found in versions.items() if len(found) > 1}
    known_keys = {f"signed/{sid}.pdf" for sid, state in finals.items() if state == "COMPLETED"}
    stray_keys = sorted(set(versions) - known_keys)
    # 2. Transitions. repository.transition() is the only writer of `version`: create() writes 1, and every
    #    transition is one conditional update `version = :expected` that sets version + 1, so version - 1 is
    #    the number of transitions applied, none of them twice. A transition is written only when what Signicat
    #    reports changed, and session states only move forward: each session at most once from BLOCKED to
    #    READY (sequential, after the first) and once from READY to SIGNED, the signing once to SIGNED and
    #    once to its final state. So version <= 1 + those session steps + 2; anything above is a change
    #    applied twice.
    version_histogram: Counter[int] = Counter()
    extra_transitions = []
    for client in started:
        item = items.get(client.signing_id)
        if not item or item.get("state") not in FINAL_STATES:
            continue
        version = int(item["version"])
        version_histogram[version] += 1
        allowed = transitions_allowed(client.plan)
        if version > allowed:
            extra_transitions.append({"signingId": client.signing_id, "version": version, "allowed": allowed})
    # 3. Signings: one request (one Idempotency-Key, one externalReference) must start one signing.
    by_reference = Counter(item.get("externalReference") for item in items.values())
    run_references = {client.external_reference for client in clients}
    extra_signings = {
        ref: count - 1 for ref, count in by_reference.items() if ref in run_references and count > 1
    }
    duplicates = (
        sum(extra_versions.values()) + len(stray_keys) + len(extra_transitions) + sum(extra_signings.values())
    )
    announcements = Counter(len(found) for sid, found in announced.items() if sid in finals)

    # The dead-letter queue: what sits there, and why (the worker's own log says what happened to each event).
    by_event: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record.get("eventId"):
            by_event[record["eventId"]].append(record)
    state_by_id = {  # what an event's eventData.id may name: a session or the collection
        named: items[client.signing_id]["state"]
        for client in started
        if client.signing_id in items
        for named in [*client.session_ids, client.collection_id]
    }
    dlq_messages = []
    for message in dead_letters(stack):
        event = json.loads(message["Body"])["event"]
        named = (event.get("eventData") or {}).get("id")
        history = by_event.get(event.get("id"), [])
        dlq_messages.append(
            {
                "eventId": event.get("id"),
                "eventName": event.get("eventName"),
                "sender": event.get("sender"),
                "eventDataId": named,
                "receiveCount": int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                "signingStateNow": state_by_id.get(named, "unknown session or collection"),
                "workerSaid": Counter(
                    r.get("reason") or r.get("outcome") or r.get("message") for r in history
                ),
            }
        )
    dlq_reasons = Counter(
        "the signing was completed by another message"
        if m["signingStateNow"] == "COMPLETED"
        else "signing not completed"
        for m in dlq_messages
    )

    post_answers = Counter(status for client in clients for status in client.answers)
    latencies = [
        _epoch(items[c.signing_id]["updatedAt"]) - c.signed_at
        for c in started
        if c.signing_id in items and items[c.signing_id].get("state") == "COMPLETED" and c.signed_at
    ]
    end_to_end = [
        _epoch(items[c.signing_id]["updatedAt"]) - c.started_at
        for c in started
        if c.signing_id in items and items[c.signing_id].get("state") == "COMPLETED"
    ]
    emulator_faults = dict(stats.get("faults", {}))
    return {
        "signings": len(clients),
        "started": len(started),
        "unstarted": len(unstarted),
        "completed": sum(1 for c in started if items.get(c.signing_id, {}).get("state") == "COMPLETED"),
        "finalStates": dict(sorted(Counter(finals.values()).items())),
        "lost": len(lost),
        "duplicates": duplicates,
        "wrongFinalStates": len(wrong_states),
        "unannounced": len(unannounced),
        "ok": not lost and not duplicates and not unstarted and not wrong_states and not unannounced,
        "mix": chaos_mix.mix_counts([c.plan for c in clients], [c.cancel for c in clients]),
        "lostSignings": lost[:50],
        "wrongFinalStateSignings": wrong_states[:50],
        "unannouncedSignings": unannounced[:50],
        "announcements": {
            "events": sum(len(found) for found in announced.values()),
            "eventsPerFinalSigning": {str(k): v for k, v in sorted(announcements.items())},
            "announcedAnotherState": len(announced_otherwise),
            "announcedAnotherStateDetail": announced_otherwise[:50],
            "note": "at least once: a signing may be announced again (a retried message, the reconciler); "
            "an event naming a state other than the final one is a wrong final state",
        },
        "unstartedSignings": [
            {"index": c.index, "answers": c.answers, "error": c.error} for c in unstarted[:50]
        ],
        "duplicateDetail": {
            "s3ExtraVersions": sum(extra_versions.values()),
            "s3ExtraVersionsByKey": dict(list(extra_versions.items())[:50]),
            "s3KeysOfNoSigning": stray_keys[:50],
            "extraTransitions": len(extra_transitions),
            "extraTransitionsBySigning": extra_transitions[:50],
            "extraSignings": sum(extra_signings.values()),
            "extraSigningsByReference": dict(list(extra_signings.items())[:50]),
            "finalVersionHistogram": {str(k): v for k, v in sorted(version_histogram.items())},
            "rule": "version <= 1 + 2 + each session's forward steps (BLOCKED->READY after the first "
            "sequential signer, READY->SIGNED): 1 on create, +1 per transition",
        },
        "dlq": {
            "messages": len(dlq_messages),
            "why": dict(dlq_reasons),
            "detail": dlq_messages[:50],
            "note": "maxReceiveCount 5: a message received 5 times without success (in batches the runtime "
            "killed at the timeout, or deferred while another worker held the storage claim) moves here; "
            "the reconciler queues a fresh event for any signing still pending, so none is lost by it",
        },
        "faults": {
            "emulator": emulator_faults,
            "deliveries": stats.get("deliveries", {}),
            "workerKilledByTimeout": logs.timeouts(WORKER),
            "apiRequests": stats.get("requests", {}),
            "clientPostAnswers": {str(k): v for k, v in sorted(post_answers.items())},
            "clientPostRetries": sum(len(c.answers) - 1 for c in clients if c.answers),
            "reconcilerRuns": logs.invocations().get(RECONCILER, 0),
            "reconciler": logs.reconciled(),
            "completedByReconcilerEvent": sum(
                1
                for r in records
                if str(r.get("eventId", "")).startswith("reconciler-") and r.get("outcome") == "COMPLETED"
            ),
        },
        "timings": {
            **timings,
            "signedToCompletedSeconds": _percentiles(latencies),
            "postToCompletedSeconds": _percentiles(end_to_end),
            "throughputSigningsPerMinute": round(60 * len(latencies) / timings["totalSeconds"], 1)
            if timings.get("totalSeconds")
            else None,
            "functionBusySeconds": logs.busy_seconds(),
            "functionInvocations": logs.invocations(),
        },
    }


# --- the run -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    out_dir = Path(args.out).parent / "chaos"
    shutil.rmtree(out_dir / "logs", ignore_errors=True)  # the runtime emulator appends: start clean
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:7.1f}s] {message}", flush=True)

    stack = start_stack(out_dir, args.seed, args.worker_timeout, args.reconcile_every)
    try:
        stack_ready = time.monotonic()
        progress(
            f"stack up in {stack_ready - began:.1f}s; {args.signings} signings with {args.clients} clients"
        )
        emulator_url = stack.info["emulatorUrl"]
        requests.post(f"{emulator_url}/_emulator/reset-stats", timeout=10).raise_for_status()
        announcements = Announcements(stack)
        pool = Clients(stack.info["apiUrl"], emulator_url, stack.client("s3"), stack.info["intakeBucket"])
        run_id = uuid.uuid4().hex[:8]
        plans = chaos_mix.plan_mix(args.signings, args.seed)
        clients = [Client(index, f"chaos-{run_id}-{index}", plan) for index, plan in enumerate(plans)]
        # Drops wait for the intake (retried after the notification queue's visibility timeout when Signicat
        # failed it): their own threads, so that the API's clients keep their pace meanwhile.
        with (
            ThreadPoolExecutor(args.clients, thread_name_prefix="chaos-client") as api_callers,
            ThreadPoolExecutor(args.clients, thread_name_prefix="chaos-dropper") as droppers,
        ):
            running = [
                (droppers if client.plan.origin == chaos_mix.ORIGIN_DROP else api_callers).submit(
                    pool.run, client
                )
                for client in clients
            ]
            for done, _ in enumerate(as_completed(running), start=1):
                if done % max(1, args.signings // 10) == 0:
                    progress(f"{done}/{args.signings} started and acted on")
        all_signed = time.monotonic()
        ids = {client.signing_id for client in clients if client.signing_id}
        items = wait_until_final(stack, ids, all_signed + args.deadline, progress)
        all_final = time.monotonic()
        drained, drain_seconds = wait_drained(stack, args.drain)
        progress(
            f"package queue {'drained' if drained else 'NOT drained'} after {drain_seconds:.1f}s; checking"
        )
        items = {item["signingId"]: item for item in signing_items(stack)}
        finals = {
            sid: item["state"] for sid, item in items.items() if sid in ids and item["state"] in FINAL_STATES
        }
        announced, announce_seconds = announcements.wait(finals, args.announce_wait)
        progress(f"announcements read after {announce_seconds:.1f}s more; checking")
        stats = requests.get(f"{emulator_url}/_emulator/stats", timeout=10).json()
        timings = {
            "stackStartSeconds": round(stack_ready - began, 1),
            "startAndSignSeconds": round(all_signed - stack_ready, 1),
            "untilAllFinalSeconds": round(all_final - all_signed, 1),
            "drainSeconds": round(drain_seconds, 1),
            "queueDrained": drained,
            "announcementWaitSeconds": round(announce_seconds, 1),
            "totalSeconds": round(all_final - stack_ready, 1),
        }
        report = build_report(stack, clients, items, Logs(stack.info["logs"]), stats, timings, announced)
        report["settings"] = {
            "seed": args.seed,
            "mix": {
                "dropShare": chaos_mix.DROP_SHARE,
                "outcomeWeights": chaos_mix.OUTCOME_WEIGHTS,
                "signers": "1 to 3, uniform",
                "signingOrder": "parallel or sequential, even",
                "cancelTimings": [chaos_mix.CANCEL_BEFORE, chaos_mix.CANCEL_RACING, chaos_mix.CANCEL_AFTER],
                "dropNames": "clash-<k>.pdf, clash-<k>.txt, clash-<k>.pdf",
            },
            "clients": args.clients,
            "faults": {**FAULTS, "stall_seconds": args.worker_timeout + STALL_EXTRA},
            "workerTimeoutSeconds": args.worker_timeout,
            "packageQueueVisibilitySeconds": 6 * args.worker_timeout,
            "packageQueueMaxReceiveCount": 5,
            "reconcileAfterMinutes": 0,
            "reconcileEverySeconds": args.reconcile_every,
            "functionConcurrency": CONCURRENCY,
            "workerPollers": WORKER_POLLERS,
            "deadlineSeconds": args.deadline,
            "awsEndpointUrl": stack.info["awsEndpointUrl"],
        }
        write_report(report, Path(args.out))  # before stopping: a stop that fails must not lose the findings
        return report
    finally:
        try:
            stack.stop()
        except Exception as error:
            # e.g. moto's reset timing out after a big run; the stack stops each piece even when one fails
            print(f"stopping the stack: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def write_report(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--signings", type=int, default=1000, help="how many signings (default 1000)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument(
        "--seed", type=int, default=7, help="the seed of the emulator's faults and of the mix (default 7)"
    )
    parser.add_argument(
        "--deadline", type=float, default=600, help="seconds after the last signature for all to be final"
    )
    parser.add_argument(
        "--drain", type=float, default=120, help="seconds to wait for the package queue to empty"
    )
    parser.add_argument(
        "--announce-wait",
        type=float,
        default=60,
        help="seconds to wait for every final state's EventBridge event once all are final",
    )
    parser.add_argument(
        "--worker-timeout", type=int, default=WORKER_TIMEOUT, help="package worker timeout, s"
    )
    parser.add_argument("--reconcile-every", type=float, default=RECONCILE_EVERY, help="seconds between runs")
    parser.add_argument(
        "--out", default=str(REPO / "out" / "chaos-report.json"), help="where the report goes"
    )
    args = parser.parse_args(argv)
    if args.signings < 1 or args.clients < 1:
        parser.error("--signings and --clients must be at least 1")
    report = run(args)
    out = Path(args.out)
    summary = {
        key: report[key]
        for key in (
            "signings",
            "completed",
            "finalStates",
            "lost",
            "duplicates",
            "wrongFinalStates",
            "unannounced",
            "unstarted",
            "mix",
        )
    }
    print(
        json.dumps(
            {
                **summary,
                "dlq": report["dlq"]["messages"],
                "faults": report["faults"]["emulator"],
                "workerKilled": report["faults"]["workerKilledByTimeout"],
                "totalSeconds": report["timings"]["totalSeconds"],
                "report": str(out),
            }
        )
    )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
