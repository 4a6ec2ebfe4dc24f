"""After a restore from a SnapStart snapshot nothing the snapshot holds is reused: not the random state, not the
Signicat token or its connections, not boto3's clients and credentials, not Powertools' cached secrets."""

from __future__ import annotations

import json
import random
import sys

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from signing_core import aws, clients, lazy_imports, signicat_tokens, snapstart
from signing_core.settings import SignicatSettings


@pytest.fixture
def aws_stack(aws):
    """moto and the functions' environment (the `aws` fixture; named apart from signing_core.aws)."""
    return aws


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)  # pytest-httpserver's own fixture, on loopback


@pytest.fixture
def server(httpserver):
    return httpserver


@pytest.fixture
def signicat_settings(server, monkeypatch):
    monkeypatch.setattr(signicat_tokens, "credentials_from_secret", lambda secret_id: ("id", "secret"))
    minted: list[str] = []

    def token(request: Request) -> Response:
        minted.append(f"token-{len(minted) + 1}")
        body = {"access_token": minted[-1], "token_type": "Bearer", "expires_in": 600}
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/token", method="POST").respond_with_handler(token)
    server.expect_request("/sign/signing-sessions/s-1", method="GET").respond_with_json(
        {"id": "s-1", "lifecycle": {"state": "READY", "stateIsFinal": False}}
    )
    clients.reset()
    yield SignicatSettings(server.url_for("/sign"), server.url_for("/token"), "signicat-secret"), minted
    clients.reset()


def bearer_tokens(server: HTTPServer) -> list[str]:
    return [r.headers["Authorization"] for r, _ in server.log if r.path.startswith("/sign/")]


@pytest.fixture
def runtime_hooks(monkeypatch):
    """The Lambda runtime's own hook registry (snapshot_restore_py, as the runtime interface client reads it)."""
    import snapshot_restore_py

    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    return snapshot_restore_py


def test_register_hands_both_hooks_to_the_lambda_runtime(runtime_hooks):
    assert snapstart.register() is True

    assert runtime_hooks.get_before_snapshot() == [(snapstart.before_snapshot, (), {})]
    assert runtime_hooks.get_after_restore() == [(snapstart.after_restore, (), {})]


def test_register_is_a_no_op_where_the_runtime_has_no_snapshots(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as outside Lambda's runtime

    assert snapstart.register() is False


def test_before_snapshot_loads_every_deferred_module(monkeypatch, tmp_path):
    (tmp_path / "deferred_use_case.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(lazy_imports, "_deferred", [])
    monkeypatch.setitem(sys.modules, "deferred_use_case", None)
    monkeypatch.delitem(sys.modules, "deferred_use_case")  # restored, i.e. removed again, after the test
    module = lazy_imports.later("deferred_use_case")
    assert "LOADED" not in object.__getattribute__(module, "__dict__")  # nothing of it has run yet

    snapstart.before_snapshot()

    assert object.__getattribute__(module, "__dict__")["LOADED"] is True


def test_after_restore_the_signicat_token_and_connections_are_not_reused(server, signicat_settings):
    settings, minted = signicat_settings
    before = clients.signicat(settings)
    before.get_signing_session("s-1")
    assert before._tokens.cached == "token-1"

    snapstart.after_restore()
    after = clients.signicat(settings)
    after.get_signing_session("s-1")

    assert after is not before and after._session is not before._session
    assert before._tokens.cached is None  # the snapshot's client forgot its token and closed its pool
    assert minted == ["token-1", "token-2"]
    assert bearer_tokens(server) == ["Bearer token-1", "Bearer token-2"]


def test_after_restore_boto3_makes_a_new_session_and_new_clients(aws_stack):
    import boto3

    aws_client = aws.client("sqs")
    before = boto3.DEFAULT_SESSION
    assert before is not None

    snapstart.after_restore()

    assert boto3.DEFAULT_SESSION is None  # credentials are resolved again, by the next client
    again = aws.client("sqs")
    assert again is not aws_client
    assert boto3.DEFAULT_SESSION is not None and boto3.DEFAULT_SESSION is not before


def test_two_environments_restored_from_one_snapshot_draw_different_random_numbers():
    random.seed(1234)  # whatever the initialisation left
    snapshot = random.getstate()

    draws = []
    for _environment in range(2):
        random.setstate(snapshot)
        snapstart.after_restore()
        draws.append([random.random() for _ in range(4)])

    random.setstate(snapshot)
    assert draws[0] != draws[1]
    assert [random.random() for _ in range(4)] not in draws  # neither is the snapshot's own sequence


def test_after_restore_powertools_cached_secrets_are_forgotten():
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS["secrets"] = object()

    snapstart.after_restore()

    assert base.DEFAULT_PROVIDERS == {}


def test_after_restore_idempotency_is_built_again_with_the_new_dynamodb_client(aws_stack):
    from signing_core import idempotency

    @idempotency.idempotent(data_keyword_argument="command", key="id", expires_after_seconds=60)
    def start(command):
        return command

    built = idempotency._built[-1]
    before = built()
    assert built() is before

    snapstart.after_restore()

    assert built() is not before
