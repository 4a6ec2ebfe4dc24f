"""Each Sign API call is a subsegment of its own where the function traces, and nothing where it does not."""

from __future__ import annotations

import contextlib
import json
from types import SimpleNamespace

import pytest
from werkzeug import Response

from signing_core import tracing
from signing_core.signicat import SignicatClient
from signing_core.signicat_errors import SignicatError


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


class Subsegment:
    def __init__(self, name: str) -> None:
        self.name, self.annotations = name, {}

    def put_annotation(self, key, value) -> None:
        self.annotations[key] = value


class RecordingProvider:
    """X-Ray's recorder as Powertools Tracer uses it: `in_subsegment(name=...)`."""

    def __init__(self) -> None:
        self.subsegments: list[Subsegment] = []

    @contextlib.contextmanager
    def in_subsegment(self, name: str):
        self.subsegments.append(Subsegment(name))
        yield self.subsegments[-1]


@pytest.fixture
def traced(monkeypatch):
    provider = RecordingProvider()
    monkeypatch.setattr(tracing, "_tracer", SimpleNamespace(disabled=False, provider=provider))
    return provider


@pytest.fixture
def signicat(httpserver):
    token = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 600}
    httpserver.expect_request("/token", method="POST").respond_with_json(token)
    session = {"id": "s-1", "lifecycle": {"state": "READY", "stateIsFinal": False}}
    httpserver.expect_request("/sign/signing-sessions/s-1", method="GET").respond_with_json(session)
    missing = {"type": "about:blank", "title": "Not Found", "status": 404, "code": "NOT_FOUND"}
    httpserver.expect_request("/sign/signing-sessions/gone", method="GET").respond_with_response(
        Response(json.dumps(missing), status=404, content_type="application/problem+json")
    )
    return SignicatClient(
        httpserver.url_for("/sign"),
        httpserver.url_for("/token"),
        lambda: ("id", "secret"),
        backoff_factor=0.001,
    )


def test_each_signicat_call_and_the_token_are_subsegments_with_operation_and_status(traced, signicat):
    signicat.get_signing_session("s-1")
    with pytest.raises(SignicatError):
        signicat.get_signing_session("gone")

    assert [(s.name, s.annotations) for s in traced.subsegments] == [
        ("## Signicat GET signing-sessions", {"operation": "GET signing-sessions", "status": 200}),
        ("## Signicat POST token", {"operation": "POST token"}),
        ("## Signicat GET signing-sessions", {"operation": "GET signing-sessions", "status": 404}),
    ]


def test_without_a_tracer_the_calls_are_made_and_nothing_is_traced(monkeypatch, signicat):
    monkeypatch.setattr(tracing, "_tracer", None)

    assert signicat.get_signing_session("s-1")["id"] == "s-1"


def test_a_disabled_tracer_records_nothing(monkeypatch, traced, signicat):
    monkeypatch.setattr(tracing, "_tracer", SimpleNamespace(disabled=True, provider=traced))

    signicat.get_signing_session("s-1")

    assert traced.subsegments == []
