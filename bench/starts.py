"""Figure 6: POST /signings with 1, 5 and 20 documents, Signicat 100 ms away (the emulator's `latency` fault).

Through the whole offline stack (gateway, the API function under the Lambda runtime emulator, moto). The ratio
divides the POST's latency (median of the repetitions) by the three calls no start can overlap, made in the
same run by the product's client straight to the same emulator: one upload, the collection, the sessions.
Sequential uploads would make 20 documents ≈ (20 + 2) / 3 ≈ 7.3; concurrent ones (UPLOAD_CONCURRENCY at a time)
keep it near 1 plus the API's own work. Budget: ≤ 1.5 at 20 documents; 1 and 5 documents are reported.
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from typing import Any

import requests

from bench import REPO, BenchError, Figure
from bench.pipeline import offline_stack

LATENCY_SECONDS = 0.1  # added by the emulator to every Sign API call, token requests included
DOCUMENT_COUNTS = (1, 5, 20)
CORE = REPO / "layers" / "core"
BUDGET_AT_20 = 1.5


def _pdf(index: int) -> bytes:
    from local.pdf import sample_pdf

    return sample_pdf(f"Benchmark part {index}", [f"Document {index} of a multi-document start."])


def _request(documents: int) -> dict[str, Any]:
    return {
        "title": f"Benchmark start of {documents} documents",
        "documents": [
            {"filename": f"part-{n}.pdf", "content": base64.b64encode(_pdf(n)).decode()}
            for n in range(documents)
        ],
        "signers": [{"email": "signer@example.com"}],
    }


def _post_seconds(api_url: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    answer = requests.post(f"{api_url}/signings", json=body, timeout=120)
    seconds = time.perf_counter() - started
    if answer.status_code != 201:
        raise BenchError(f"POST /signings answered {answer.status_code}: {answer.text[:500]}")
    return seconds


def _floor_seconds(signicat: Any) -> float:
    """One upload, the collection and the sessions, one after the other, by the product's client (token warm)."""
    if str(CORE) not in sys.path:
        sys.path.insert(
            0, str(CORE)
        )  # the product's client from the source tree, as bench.memory's child has it
    from signing_core.signicat import SignicatClient
    from signing_core.signicat_wire import session_body

    client = SignicatClient(
        signicat.api_url, signicat.token_url, lambda: (signicat.client_id, signicat.client_secret)
    )
    client.list_signing_sessions(limit=1)  # the token, minted before the clock starts
    started = time.perf_counter()
    document_id = client.upload_document(_pdf(0), "application/pdf")["documentId"]
    collection_id = client.create_document_collection([document_id])["id"]
    client.create_signing_sessions(
        [
            session_body(
                title="Benchmark floor",
                external_reference="bench-floor",
                collection_id=collection_id,
                document_ids=[document_id],
                signing_flow="AUTHENTICATION_BASED",
                identity_providers=[],
                signer={"email": "signer@example.com"},
                language="en",
                redirect_settings=None,
                due_date=None,
            )
        ]
    )
    return time.perf_counter() - started


def run(small: bool = False) -> list[Figure]:
    repeats = 3 if small else 7
    with offline_stack() as pipeline:
        emulator = pipeline.info["emulatorUrl"]
        api_url = pipeline.info["apiUrl"]
        requests.put(
            f"{emulator}/_emulator/faults", json={"latency": LATENCY_SECONDS}, timeout=30
        ).raise_for_status()
        bodies = {count: _request(count) for count in DOCUMENT_COUNTS}
        _post_seconds(api_url, bodies[1])  # the API's cold start and its token, outside the figures
        floor = statistics.median(_floor_seconds(pipeline.stack.signicat) for _ in range(repeats))
        posts = {
            count: statistics.median(_post_seconds(api_url, bodies[count]) for _ in range(repeats))
            for count in DOCUMENT_COUNTS
        }
        peak = requests.get(f"{emulator}/_emulator/stats", timeout=30).json()["peakInFlight"]
    return [
        Figure(
            key=f"starts.documents{count}",
            title=f"POST /signings, {count} document(s), Signicat +100 ms: latency / (upload + collection + sessions)",
            value=round(posts[count] / floor, 2),
            unit="x",
            budget=BUDGET_AT_20 if count == 20 else None,
            op="<=" if count == 20 else None,
            detail={
                "postSeconds": round(posts[count], 3),
                "floorSeconds": round(floor, 3),
                "repeats": repeats,
                "peakUploadsInFlight": peak.get("POST /sign/documents"),
            },
        )
        for count in DOCUMENT_COUNTS
    ]
