"""Handlers with AWS from moto and Signicat from the emulator, over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import SIGNICAT_CREDENTIALS

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def signicat(aws, monkeypatch):
    """The Sign API v2 emulator, with the client credentials the moto secret holds; no webhook deliveries."""
    from aws_lambda_powertools.utilities import parameters

    from local.emulator.config import EmulatorConfig
    from local.emulator.server import EmulatorServer
    from signing_core import clients

    config = EmulatorConfig(
        client_id=SIGNICAT_CREDENTIALS["clientId"],
        client_secret=SIGNICAT_CREDENTIALS["clientSecret"],
        packaging_delay=0.05,
    )
    with EmulatorServer(config) as server:
        monkeypatch.setenv("SIGNICAT_API_URL", server.url + "/sign")
        monkeypatch.setenv("SIGNICAT_TOKEN_URL", server.url + "/auth/open/connect/token")
        clients.signicat.cache_clear()
        parameters.clear_caches()
        yield Emulator(server.url)
    clients.signicat.cache_clear()


class Emulator:
    """The emulator's script controls, as a test uses them."""

    def __init__(self, url: str) -> None:
        self.url = url

    def act(self, session_id: str, action: str = "sign") -> dict:
        answer = requests.post(f"{self.url}/_emulator/signing-sessions/{session_id}/{action}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_emulator/stats", timeout=10).json()

    def faults(self, **faults) -> None:
        requests.put(f"{self.url}/_emulator/faults", json=faults, timeout=10).raise_for_status()

    def session(self, session_id: str) -> dict:
        return self._get(f"/sign/signing-sessions/{session_id}").json()

    def sessions(self) -> list[dict]:
        """Every session the emulator holds (a deleted one is gone)."""
        listed = self._get("/sign/signing-sessions?limit=1000").json()
        return listed["data"] if isinstance(listed, dict) else listed

    def document(self, document_id: str) -> bytes:
        """A document's bytes as Signicat holds them."""
        return self._get(f"/sign/documents/{document_id}").content

    def _get(self, path: str) -> requests.Response:
        token = requests.post(
            f"{self.url}/auth/open/connect/token",
            data={"grant_type": "client_credentials", "scope": "signicat-api"},
            auth=(SIGNICAT_CREDENTIALS["clientId"], SIGNICAT_CREDENTIALS["clientSecret"]),
            timeout=10,
        ).json()["access_token"]
        answer = requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        answer.raise_for_status()
        return answer

    def wait_packaged(self, session_id: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            session = self.session(session_id)
            if session["output"]["packages"]:
                return session
            time.sleep(0.05)
        raise AssertionError(f"session {session_id} was not packaged in {timeout} s")


def sample_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


class FakeContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
