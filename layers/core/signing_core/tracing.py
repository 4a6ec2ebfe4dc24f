"""X-Ray subsegments for the Sign API calls, in the functions that trace.

A function that can afford the X-Ray SDK on its cold start (the package worker, the reconciler) calls
`use_powertools()` once: each Signicat call then becomes a subsegment (`## Signicat <operation>`, annotated with
the operation and the status Signicat answered, retries included), beside the AWS calls Powertools Tracer patches
into the trace. Everywhere else (the webhook and the API: their cold-start budgets, docs/observability.md)
`subsegment` costs nothing and imports nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_tracer: Any = None


class Span:
    """What a caller may add to its subsegment; without a tracer, nothing is kept."""

    def __init__(self, subsegment: Any = None) -> None:
        self._subsegment = subsegment

    def annotate(self, key: str, value: str | int | bool) -> None:
        if self._subsegment is not None:
            self._subsegment.put_annotation(key, value)


def use_powertools() -> Any:
    """Trace through Powertools Tracer (AWS calls patched, Signicat calls as subsegments); answers the Tracer
    for the handler's `@tracer.capture_lambda_handler`."""
    global _tracer
    from aws_lambda_powertools import Tracer

    # botocore only: the Signicat calls get subsegments of their own here, one per operation, retries inside.
    _tracer = Tracer(patch_modules=("botocore",))
    return _tracer


@contextlib.contextmanager
def subsegment(name: str, **annotations: str | int | bool) -> Iterator[Span]:
    if _tracer is None or _tracer.disabled:
        yield Span()
        return
    with _tracer.provider.in_subsegment(name=f"## {name}") as traced:
        span = Span(traced)
        for key, value in annotations.items():
            span.annotate(key, value)
        yield span
