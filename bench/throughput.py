"""Figure 4: throughput and stage latency of the offline stack, beside the emulator alone doing the same calls.

Both sides run closed loop: 4 client threads, each doing one whole signing at a time, so 4 signings are
in flight and latencies are not inflated by a backlog the clients themselves pile up.

Pipeline: N signings (500, `--small` 30) through LocalStack; each thread: POST /signings
(API function: upload, collection, sessions, DynamoDB), sign at the emulator, then Signicat packages
the PAdES (emulator packaging delay 0.2 s), delivers `package.completed` to the webhook function, which
queues it; the SQS poller runs the worker, which reads the session, streams the PAdES into S3 and
records COMPLETED; the thread waits for it (DynamoDB read every 0.1 s). Stages: API POST latency
(client side), sign → COMPLETED (DynamoDB `updatedAt` of the final item minus the client's clock at
signing: one machine, one clock), webhook and worker invocation durations (the runtime emulator's
REPORT lines). A few warm-up signings run first, so no cold start is in these figures. Queue wait is not recorded by the product: the rest of
sign → COMPLETED (packaging delay, delivery, queue wait, polling) is reported as the remainder of medians.
A signing the API could not start (moto's DynamoDB answers 500 now and then under concurrent
transactions) is counted in `notStarted` and left out; more than 5 % of them fails the figure.

Emulator alone: the same Signicat calls made directly by the same number of threads: token (once per
thread), upload, collection, sessions, sign, get session (polled every 50 ms until the PAdES is
packaged), download. The ratios pipeline / emulator-alone are reported, without a budget.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench import BenchError, Figure, median, percentile
from bench.pipeline import LogWindow, document_b64, offline_stack

WORKERS = 4
CONCURRENCY = {"ApiFunction": 2, "WebhookFunction": 1, "PackageWorkerFunction": 2}
PACKAGING_DELAY = 0.2
POLL_SECONDS = 0.05


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(median(values), 1),
        "p99": round(percentile(values, 99), 1),
        "n": len(values),
    }


def pipeline_run(count: int) -> dict[str, Any]:
    with offline_stack(concurrency=CONCURRENCY, packaging_delay=PACKAGING_DELAY) as pipeline:
        # Warm every runtime process first: cold starts are figure 1, not part of these latencies.
        pipeline.run_signings(2 * WORKERS, WORKERS, closed_loop=True, tolerate_errors=True)
        logs = pipeline.info["logs"]
        webhook_log = LogWindow(logs["WebhookFunction"])
        worker_log = LogWindow(logs["PackageWorkerFunction"])
        runs, wall = pipeline.run_signings(count, WORKERS, closed_loop=True, tolerate_errors=True)
        webhook_ms = webhook_log.durations_ms()
        worker_ms = worker_log.durations_ms()
    failed = [run for run in runs if run.error is not None]
    if len(failed) > count // 20:
        raise BenchError(f"{len(failed)} of {count} signings could not be started, e.g. {failed[0].error}")
    runs = [run for run in runs if run.error is None]
    bad = [run.signing_id for run in runs if run.state != "COMPLETED"]
    if bad:
        raise BenchError(f"{len(bad)} signings did not complete, e.g. {bad[:3]}")
    stages = {
        "apiPostMs": _stats([run.post_seconds * 1000 for run in runs]),
        "signToCompletedMs": _stats([((run.completed_at or 0) - run.signed_at) * 1000 for run in runs]),
        "webhookInvocationMs": _stats(webhook_ms) if webhook_ms else None,
        "workerInvocationMs": _stats(worker_ms) if worker_ms else None,
        "endToEndMs": _stats([((run.completed_at or 0) - run.post_started) * 1000 for run in runs]),
    }
    if webhook_ms and worker_ms:
        stages["restOfSignToCompletedP50Ms"] = round(
            stages["signToCompletedMs"]["p50"] - median(webhook_ms) - median(worker_ms), 1
        )
    return {
        "signings": count,
        "notStarted": len(failed),
        "notStartedErrors": sorted({run.error or "" for run in failed})[:3],
        "wallSeconds": round(wall, 2),
        "perSecond": round(len(runs) / wall, 2),
        **stages,
    }


class _DirectSignicat:
    """The same calls as the product, straight at the emulator, one HTTP session per thread."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.base = base_url
        self._auth = (client_id, client_secret)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            token = session.post(
                f"{self.base}/auth/open/connect/token",
                data={"grant_type": "client_credentials", "scope": "signicat-api"},
                auth=self._auth,
                timeout=30,
            )
            token.raise_for_status()
            session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        return session

    def signing(self, index: int) -> float:
        import base64

        http = self._session()
        started = time.perf_counter()
        pdf = base64.b64decode(document_b64())
        document = http.post(
            f"{self.base}/sign/documents", data=pdf, headers={"Content-Type": "application/pdf"}, timeout=30
        )
        document.raise_for_status()
        document_id = document.json()["documentId"]
        collection = http.post(
            f"{self.base}/sign/document-collections",
            json={"documents": [{"documentId": document_id}]},
            timeout=30,
        )
        collection.raise_for_status()
        collection_id = collection.json()["id"]
        body = {
            "title": f"Benchmark signing {index}",
            "externalReference": str(uuid.uuid4()),
            "documents": [
                {"action": "SIGN", "documentCollectionId": collection_id, "documentId": document_id}
            ],
            "signingSetup": [
                {
                    "signingFlow": "AUTHENTICATION_BASED",
                    "additionalParameters": {"email": f"s{index}@example.com"},
                }
            ],
            "packageTo": ["PADES_CONTAINER"],
            "ui": {"language": "en"},
        }
        sessions = http.post(f"{self.base}/sign/signing-sessions", json=[body], timeout=30)
        sessions.raise_for_status()
        session_id = sessions.json()[0]["id"]
        http.post(f"{self.base}/_emulator/signing-sessions/{session_id}/sign", timeout=30).raise_for_status()
        deadline = time.monotonic() + 60
        while True:
            session = http.get(f"{self.base}/sign/signing-sessions/{session_id}", timeout=30)
            session.raise_for_status()
            packages = (session.json().get("output") or {}).get("packages") or []
            pades = [p["resultDocumentId"] for p in packages if p.get("packageType") == "PADES_CONTAINER"]
            if pades:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"session {session_id} was not packaged within 60 s")
            time.sleep(POLL_SECONDS)
        with http.get(f"{self.base}/sign/documents/{pades[0]}", stream=True, timeout=30) as download:
            download.raise_for_status()
            for _ in download.iter_content(64 * 1024):
                pass
        return time.perf_counter() - started


def emulator_alone_run(count: int) -> dict[str, Any]:
    from local.emulator.config import EmulatorConfig
    from local.emulator.server import EmulatorServer

    config = EmulatorConfig(packaging_delay=PACKAGING_DELAY)
    with EmulatorServer(config) as server:
        direct = _DirectSignicat(server.url, config.client_id, config.client_secret)
        started = time.perf_counter()
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="bench-direct") as pool:
            seconds = list(pool.map(direct.signing, range(count)))
        wall = time.perf_counter() - started
    return {
        "signings": count,
        "wallSeconds": round(wall, 2),
        "perSecond": round(count / wall, 2),
        "endToEndMs": _stats([s * 1000 for s in seconds]),
    }


def run(small: bool = False, signings: int | None = None) -> list[Figure]:
    count = signings or (30 if small else 500)
    alone = emulator_alone_run(count)
    stack = pipeline_run(count)
    detail = {
        "workers": WORKERS,
        "functionConcurrency": CONCURRENCY,
        "pipeline": stack,
        "emulatorAlone": alone,
    }
    return [
        Figure(
            key="throughput.pipelinePerSecond",
            title=f"offline stack: signings completed per second ({count}, {WORKERS} threads)",
            value=stack["perSecond"],
            unit="signings/s",
            detail=detail,
        ),
        Figure(
            key="throughput.wallRatio",
            title="wall time for the same signings, pipeline / emulator alone",
            value=round(stack["wallSeconds"] / alone["wallSeconds"], 2),
            unit="ratio",
        ),
        Figure(
            key="throughput.latencyRatioP50",
            title="p50 start-to-stored per signing, pipeline / emulator alone",
            value=round(stack["endToEndMs"]["p50"] / alone["endToEndMs"]["p50"], 2),
            unit="ratio",
        ),
        Figure(
            key="throughput.apiPostP50",
            title="API POST /signings latency p50 (p99 in detail)",
            value=stack["apiPostMs"]["p50"],
            unit="ms",
            detail={"p99": stack["apiPostMs"]["p99"]},
        ),
        Figure(
            key="throughput.signToCompletedP50",
            title="sign -> stored COMPLETED p50 (webhook, queue, worker; p99 in detail)",
            value=stack["signToCompletedMs"]["p50"],
            unit="ms",
            detail={"p99": stack["signToCompletedMs"]["p99"]},
        ),
    ]
