"""A Sign API v2 to run the contract against: the emulator on 127.0.0.1, or Signicat's sandbox."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from local.emulator import EmulatorConfig, EmulatorServer
from signing_core.signicat import SignicatClient
from tests.contract.recording import KINDS, REPORT_NAMES, Recorder
from tests.contract.settings import EMULATOR, SANDBOX, TOKEN_PATH, ContractSettings
from tests.contract.signing import HelperSigner, NoSigner, ScriptedSigner, Signer

T = TypeVar("T")
TIMEOUT = 30  # seconds for one HTTP request: a hung target fails the test instead of hanging it
EMULATOR_CLIENT = ("contract-client", "contract-secret")


@dataclass
class Target:
    name: str
    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    identity_provider: str
    patience: float  # how long to wait for what the target does asynchronously (packaging)
    settle: float  # how long to watch for something that must not happen (a package too early)
    poll_interval: float  # the longest pause between two looks; the first looks come fast
    details: dict[str, Any]  # what the report says about the target (never a secret)
    signer: Signer = field(init=False)
    recorder: Recorder = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.api_url, self.token_url)
        self.api = RawApi(self)
        self.shared_client = self.client()  # one token for the whole run, as one Lambda container would

    def client(self, http: requests.Session | None = None) -> SignicatClient:
        """A new instance of the product's own client, on a recorded HTTP session."""
        return SignicatClient(
            self.api_url,
            self.token_url,
            lambda: (self.client_id, self.client_secret),
            session=http or self.recorder.session(),
        )

    def wait_for(self, probe: Callable[[], T | None], what: str) -> T:
        deadline, pause = time.monotonic() + self.patience, 0.02
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: no {what} within {self.patience:g} s")
            time.sleep(pause)
            pause = min(pause * 2, self.poll_interval)

    def sign(self, session: dict[str, Any], action: str = "sign") -> dict[str, Any]:
        return self.signer(session, action, self.api.session)

    def clean_up(self) -> None:
        """Delete everything created and not yet deleted; fail naming what could not be deleted."""
        for kind in KINDS:
            for ident in self.recorder.ledger.pending(kind):
                self.api.call("DELETE", f"/{kind}/{ident}")
        left = {REPORT_NAMES[kind]: self.recorder.ledger.pending(kind) for kind in KINDS}
        left = {kind: ids for kind, ids in left.items() if ids}
        assert not left, f"{self.name}: could not delete {left}"


class RawApi:
    """Plain HTTP for what the product's client does not call, with one token reused until refused."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self.http = target.recorder.session()
        self._token: str | None = None

    def mint(self, **auth: Any) -> requests.Response:
        """The token request: credentials as HTTP Basic, or in the form body with `in_body=True`."""
        target = self._target
        form = {"grant_type": "client_credentials", "scope": "signicat-api"}
        if auth.pop("in_body", False):
            form |= {"client_id": target.client_id, "client_secret": target.client_secret}
        else:
            auth.setdefault("auth", (target.client_id, target.client_secret))
        return self.http.post(target.token_url, data=form, timeout=TIMEOUT, **auth)

    def token(self) -> str:
        if self._token is None:
            answer = self.mint()
            assert answer.ok, f"{self._target.name}: no token ({answer.status_code})"
            self._token = answer.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        headers["Authorization"] = f"Bearer {token or self.token()}"
        url = f"{self._target.api_url}{path}"
        answer = self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
        # The token expired: mint once more, as the product's client does.
        if answer.status_code == 401 and token is None:
            self._token = None
            headers["Authorization"] = f"Bearer {self.token()}"
            answer = self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
        return answer

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON, asserting it succeeded."""
        answer = self.call(method, path, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def session(self, session_id: str) -> dict[str, Any]:
        return self.json("GET", f"/signing-sessions/{session_id}")

    def collection(self, collection_id: str) -> dict[str, Any]:
        return self.json("GET", f"/document-collections/{collection_id}")


@contextlib.contextmanager
def open_target(name: str, settings: ContractSettings) -> Iterator[Target]:
    if name == EMULATOR:
        with _emulator() as target:
            yield target
    elif name == SANDBOX:
        yield _sandbox(settings)
    else:
        raise ValueError(f"unknown contract target {name!r}")


@contextlib.contextmanager
def _emulator() -> Iterator[Target]:
    client_id, client_secret = EMULATOR_CLIENT
    config = EmulatorConfig(client_id=client_id, client_secret=client_secret, packaging_delay=0.05)
    with EmulatorServer(config) as server:
        target = Target(
            name=EMULATOR,
            api_url=f"{server.url}/sign",
            token_url=f"{server.url}{TOKEN_PATH}",
            client_id=client_id,
            client_secret=client_secret,
            identity_provider="ftn",
            patience=10.0,
            settle=0.5,  # ten times the packaging delay: a package made too early would show
            poll_interval=0.1,
            details={"apiUrl": f"{server.url}/sign", "signing": "the emulator's script endpoint"},
        )
        target.signer = ScriptedSigner(server.url)
        yield target


def _sandbox(settings: ContractSettings) -> Target:
    sandbox = settings.sandbox
    assert sandbox is not None, "the sandbox target needs SIGNICAT_SANDBOX=1"
    target = Target(
        name=SANDBOX,
        api_url=sandbox.api_url,
        token_url=sandbox.token_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        identity_provider=sandbox.identity_provider,
        patience=sandbox.patience,
        settle=sandbox.patience / 20,
        poll_interval=2.0,
        details={
            "apiUrl": sandbox.api_url,
            "tokenUrl": sandbox.token_url,
            "identityProvider": sandbox.identity_provider,
            "signing": "SIGNICAT_SIGNING_HELPER" if sandbox.signing_helper else "none: signing tests skipped",
        },
    )
    target.signer = (
        HelperSigner(sandbox.signing_helper, sandbox.helper_timeout, target.wait_for)
        if sandbox.signing_helper
        else NoSigner()
    )
    return target
