"""Fixtures: a running emulator, a Sign API client for it, a webhook receiver, a settable clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from local.emulator import EmulatorConfig, EmulatorServer
from local.pdf import sample_pdf

CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
WEBHOOK_SECRET = "webhook-secret"


TIMEOUT = 10  # seconds: a hung emulator fails the test instead of hanging it


def http(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request on a fresh connection, with a timeout."""
    return requests.request(method, url, timeout=TIMEOUT, **kwargs)


class _TimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 7, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *_args: Any, **_kwargs: Any) -> None:
        pass


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    query: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint: records every POST and answers the queued statuses, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhook"

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        with self._lock:
            self.received.append(Received(headers, body, environ.get("QUERY_STRING", "")))
            status = self.statuses.pop(0) if self.statuses else 200
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        wait_until(lambda: len(self.received) >= count, timeout)
        with self._lock:
            return list(self.received)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class Api:
    """A tiny Sign API client for the tests, talking to the emulator over HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = _TimeoutSession()
        self.token: str | None = None

    def get_token(self) -> str:
        answer = self.http.post(
            f"{self.base}/auth/open/connect/token",
            data={"grant_type": "client_credentials", "scope": "signicat-api"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        return self.token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token is None:
            self.get_token()
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.http.request(method, f"{self.base}{path}", headers=headers, **kwargs)

    def upload(self, content: bytes | None = None, content_type: str = "application/pdf") -> str:
        content = sample_pdf("Agreement", ["Clause 1."]) if content is None else content
        answer = self.call("POST", "/sign/documents", data=content, headers={"Content-Type": content_type})
        assert answer.status_code == 200, answer.text
        return answer.json()["documentId"]

    def collection(self, *document_ids: str, package_to: list[str] | None = None) -> str:
        body: dict[str, Any] = {"documents": [{"documentId": d} for d in document_ids]}
        if package_to is not None:
            body["packageTo"] = package_to
        answer = self.call("POST", "/sign/document-collections", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def get_collection(self, collection_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/sign/document-collections/{collection_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def session_request(self, collection_id: str, document_ids: list[str], **fields: Any) -> dict[str, Any]:
        return {
            "title": "Rental agreement",
            "externalReference": "ext-1",
            "documents": [
                {"action": "SIGN", "documentCollectionId": collection_id, "documentId": d}
                for d in document_ids
            ],
            "signingSetup": [
                {"identityProviders": [{"idpName": "ftn"}], "signingFlow": "AUTHENTICATION_BASED"}
            ],
            "packageTo": ["PADES_CONTAINER"],
            "ui": {"language": "fi"},
            **fields,
        }

    def create_sessions(self, *requests_: dict[str, Any]) -> list[dict[str, Any]]:
        answer = self.call("POST", "/sign/signing-sessions", json=list(requests_))
        assert answer.status_code == 201, answer.text
        return answer.json()

    def new_session(self, **fields: Any) -> dict[str, Any]:
        document_id = self.upload()
        collection_id = self.collection(document_id)
        return self.create_sessions(self.session_request(collection_id, [document_id], **fields))[0]

    def session(self, session_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/sign/signing-sessions/{session_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def act(self, session_id: str, action: str, identity: dict[str, Any] | None = None) -> requests.Response:
        url = f"{self.base}/_emulator/signing-sessions/{session_id}/{action}"
        return self.http.post(url, json=identity) if identity is not None else self.http.post(url)

    def download(self, document_id: str) -> bytes:
        answer = self.call("GET", f"/sign/documents/{document_id}")
        assert answer.status_code == 200, answer.text
        return answer.content

    def stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.base}/_emulator/stats").json()

    def set_faults(self, **faults: Any) -> requests.Response:
        return self.http.put(f"{self.base}/_emulator/faults", json=faults)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators with test credentials and fast timings; every one is stopped afterwards."""
    started: list[EmulatorServer] = []

    def make(**overrides: Any) -> EmulatorServer:
        settings: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "packaging_delay": 0.01,
            "retry_initial_delay": 0.05,
            "retry_max_delay": 0.2,
        }
        if overrides.get("webhook_urls"):
            settings["webhook_secret"] = WEBHOOK_SECRET
        server = EmulatorServer(EmulatorConfig(**{**settings, **overrides})).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator()


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[Api]:
    client = Api(emulator.url)
    yield client
    client.http.close()
