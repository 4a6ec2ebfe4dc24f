"""The step a person does in a browser: sign (or reject) a session at its signatureUrl.

At the emulator a script does it (`POST /_emulator/signing-sessions/{id}/sign|reject`). At the sandbox a
*signing helper* does it when one is configured: `SIGNICAT_SIGNING_HELPER` names a command, run once per
signature with a JSON request on its standard input:

    {"action": "sign" | "reject", "sessionId": "...", "signatureUrl": "https://...",
     "signer": {...the session's signer, or {}}, "language": "en"}

It exits 0 when it has done so (the suite then waits for the session to show it), 77 when it cannot do that
action (the test is skipped, its standard error the reason), anything else on failure (the test fails, with
its standard error). Without a helper, the tests that need a signature are skipped before they create anything.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import requests

SIGNED, REJECTED = "SIGNED", "REJECTED"
FINAL_STATE = {"sign": SIGNED, "reject": REJECTED}
HELPER_CANNOT = 77  # the helper cannot do this action: skip, as automake's test drivers do
NO_HELPER = (
    "signing at the sandbox needs a person in a browser: set SIGNICAT_SIGNING_HELPER to a command that "
    "signs a session (docs/contract-suite.md)"
)

Session = dict[str, Any]
ReadSession = Callable[[str], Session]


class ScriptedSigner:
    """The emulator's script endpoint signs as the session's expected signer."""

    unavailable: str | None = None

    def __init__(self, emulator_url: str) -> None:
        self._url = emulator_url.rstrip("/")

    def __call__(self, session: Session, action: str, read: ReadSession) -> Session:
        url = f"{self._url}/_emulator/signing-sessions/{session['id']}/{action}"
        answer = requests.post(url, timeout=30)
        assert answer.ok, f"the emulator refused to {action}: {answer.status_code} {answer.text[:300]}"
        return read(session["id"])


class HelperSigner:
    """Runs the configured command for each signature, then waits until the session shows it."""

    unavailable: str | None = None

    def __init__(self, command: tuple[str, ...], timeout: float, wait: Callable[..., Any]) -> None:
        self._command, self._timeout, self._wait = list(command), timeout, wait

    def __call__(self, session: Session, action: str, read: ReadSession) -> Session:
        request = {
            "action": action,
            "sessionId": session["id"],
            "signatureUrl": session["signatureUrl"],
            "signer": session.get("signer") or {},
            "language": (session.get("ui") or {}).get("language", "en"),
        }
        try:
            done = subprocess.run(
                self._command,
                input=json.dumps(request),
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"the signing helper did not {action} within {self._timeout:g} s")
        said = done.stderr.strip()[-500:]
        if done.returncode == HELPER_CANNOT:
            pytest.skip(f"the signing helper cannot {action}: {said or 'no reason given'}")
        assert done.returncode == 0, f"the signing helper failed to {action} (exit {done.returncode}): {said}"
        state = FINAL_STATE[action]
        return self._wait(lambda: _in_state(read(session["id"]), state), f"session {state} after the helper")


class NoSigner:
    unavailable = NO_HELPER

    def __call__(self, session: Session, action: str, read: ReadSession) -> Session:
        pytest.skip(self.unavailable)


Signer = ScriptedSigner | HelperSigner | NoSigner


def _in_state(session: Session, state: str) -> Session | None:
    return session if (session.get("lifecycle") or {}).get("state") == state else None
