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


@pytest.fixture
def announced(aws):
    """EventBridge's default bus routes the product's events into a queue the test reads."""
    events = aws.session.client("events")
    queue_url = aws.sqs.create_queue(QueueName="announced")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="signings", EventPattern=json.dumps({"source": ["esign.signing"]}))
    events.put_targets(Rule="signings", Targets=[{"Id": "queue", "Arn": arn}])

    def read() -> list[dict]:
        messages = aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


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
        return self._sign_api("GET", f"/signing-sessions/{session_id}").json()

    def sessions(self) -> list[dict]:
        """Every session the emulator holds (a deleted one is gone)."""
        listed = self._sign_api("GET", "/signing-sessions?limit=1000").json()
        return listed["data"] if isinstance(listed, dict) else listed

    def collection(self, collection_id: str) -> dict:
        return self._sign_api("GET", f"/document-collections/{collection_id}").json()

    def document(self, document_id: str) -> bytes:
        """A document's bytes as Signicat holds them."""
        return self._sign_api("GET", f"/documents/{document_id}").content

    def delete_session(self, session_id: str) -> None:
        """Delete a session the way someone at Signicat (the dashboard, another client) would."""
        self._sign_api("DELETE", f"/signing-sessions/{session_id}")

    def _sign_api(self, method: str, path: str) -> requests.Response:
        token = requests.post(
            f"{self.url}/auth/open/connect/token",
            data={"grant_type": "client_credentials", "scope": "signicat-api"},
            auth=(SIGNICAT_CREDENTIALS["clientId"], SIGNICAT_CREDENTIALS["clientSecret"]),
            timeout=10,
        ).json()["access_token"]
        answer = requests.request(
            method, f"{self.url}/sign{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        answer.raise_for_status()
        return answer

    def wait_packaged(self, collection_id: str, timeout: float = 20) -> dict:
        """The document collection once Signicat packaged it: every session signed, the PAdES in its packages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            collection = self._sign_api("GET", f"/document-collections/{collection_id}").json()
            if collection["output"]["packages"]:
                return collection
            time.sleep(0.05)
        raise AssertionError(f"collection {collection_id} was not packaged in {timeout} s")

    def gone(self, session_id: str) -> bool:
        """Whether Signicat answers 404 for the session (deleted, or past its due date)."""
        return self._missing(self.session, session_id)

    def holds_document(self, document_id: str) -> bool:
        return not self._missing(self.document, document_id)

    @staticmethod
    def _missing(read, thing_id: str) -> bool:
        try:
            read(thing_id)
        except requests.HTTPError as error:
            if error.response.status_code == 404:
                return True
            raise
        return False


def sample_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


class FakeContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id = "req-1"

    def __init__(self, remaining_seconds: float = 30) -> None:
        self.remaining_seconds = remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_seconds * 1000)
