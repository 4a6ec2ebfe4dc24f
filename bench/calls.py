"""Figure 3: Signicat HTTP calls per signing, counted by the Sign API v2 emulator on the offline stack.

The whole product runs (LocalStack: API, webhook, worker under the Lambda runtime emulator, moto, SQS
polling). One signing with 1 document and 1 signer must cost exactly 6 API calls: upload, collection,
sessions (API function); get session, get collection (where the PAdES is), download (worker). Counts come from `GET /_emulator/stats`;
token requests are counted apart.

Then N more signings (100, `--small` 20, 4 at a time). The emulator's token lifetime is short, so the
run spans several lifetimes: tokens minted from the first signing on must stay within one per lifetime
per warm function container that calls Signicat:
`sum over those functions' containers of 1 + floor(elapsed / (lifetime - refresh margin))`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench import Figure
from bench.pipeline import offline_stack

TOKEN_ENDPOINT = "POST /auth/open/connect/token"  # noqa: S105 - a route name
CALLS_PER_SIGNING = 6
TOKEN_LIFETIME = 5  # seconds: short, so even the small run spans several lifetimes
# The client refreshes a token early: 10 % of its lifetime, at most 30 s (signing_core.signicat_tokens).
REFRESH_MARGIN = min(30.0, TOKEN_LIFETIME / 10)
SIGNICAT_CALLERS = ("ApiFunction", "PackageWorkerFunction")
WORKERS = 4


def _api_calls(stats: dict[str, Any]) -> tuple[int, int, dict[str, int]]:
    requests_by_endpoint = stats.get("requests", {})
    tokens = requests_by_endpoint.get(TOKEN_ENDPOINT, 0)
    api = {name: count for name, count in requests_by_endpoint.items() if name != TOKEN_ENDPOINT}
    return sum(api.values()), tokens, api


def run(small: bool = False, signings: int | None = None) -> list[Figure]:
    count = signings or (20 if small else 100)
    with offline_stack(token_lifetime=TOKEN_LIFETIME) as pipeline:
        pipeline.reset_emulator_stats()
        started = time.time()
        # One signing, alone.
        first = pipeline.start_and_sign(0)
        pipeline.wait([first])
        one_calls, one_tokens, one_endpoints = _api_calls(pipeline.emulator_stats())
        # Many signings: calls per signing; tokens are counted from the first signing on.
        runs, _ = pipeline.run_signings(count, WORKERS)
        elapsed = max(run.completed_at or 0.0 for run in runs) - started
        total_calls, tokens, total_endpoints = _api_calls(pipeline.emulator_stats())
        containers = sum(pipeline.stack.functions[name]._concurrency for name in SIGNICAT_CALLERS)
    many_calls = total_calls - one_calls
    many_endpoints = {name: n - one_endpoints.get(name, 0) for name, n in total_endpoints.items()}
    states = {run.state for run in runs} | {first.state}
    allowed_tokens = containers * (1 + math.floor(elapsed / (TOKEN_LIFETIME - REFRESH_MARGIN)))
    return [
        Figure(
            key="calls.perSigning",
            title="Signicat API calls for 1 signing (1 document, 1 signer)",
            value=one_calls,
            unit="calls",
            budget=CALLS_PER_SIGNING,
            op="==",
            detail={"endpoints": one_endpoints, "tokenRequests": one_tokens, "finalState": first.state},
        ),
        Figure(
            key="calls.perSigningOverRun",
            title=f"Signicat API calls per signing over {count} signings",
            value=round(many_calls / count, 3),
            unit="calls",
            budget=CALLS_PER_SIGNING,
            op="==",
            detail={"signings": count, "endpoints": many_endpoints, "finalStates": sorted(states)},
        ),
        Figure(
            key="calls.tokenRequests",
            title=f"token requests over {count + 1} signings (lifetime {TOKEN_LIFETIME} s)",
            value=tokens,
            unit="requests",
            budget=allowed_tokens,
            op="<=",
            detail={
                "elapsedSeconds": round(elapsed, 1),
                "tokenLifetimeSeconds": TOKEN_LIFETIME,
                "warmContainersCallingSignicat": containers,
                "allowed": "containers x (1 + floor(elapsed / (lifetime - margin)))",
            },
        ),
    ]
