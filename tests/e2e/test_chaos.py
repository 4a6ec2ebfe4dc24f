"""The chaos run as a real subprocess, small: nothing lost, nothing done twice, every signing in the final state
what was done to it calls for and announced, every kind of the mix and every fault really there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from local.rie import BUILD_DIR, REPO, RUNTIME_PYTHON

pytestmark = pytest.mark.e2e
SIGNINGS = 40
FAULT_KINDS = ("error", "throttle", "duplicate", "reorder", "drop", "stall")
MIX_KINDS = (
    "origin.api",
    "origin.drop",
    "signers.1",
    "signers.2",
    "signers.3",
    "order.parallel",
    "order.sequential",
    "outcome.sign",
    "outcome.reject",
    "outcome.cancel",
    "reject.firstSigner",
    "reject.afterOthersSigned",
    "cancel.beforeLastSignature",
    "cancel.racingLastSignature",
    "cancel.afterLastSignature",
    "cancel.answered200",
    "cancel.answered409",
    "drop.pdf",
    "drop.txt",
    "drop.sameNameAgain",
    "drop.otherExtensionSameStem",
)


def _processes_using(endpoint_url: str) -> list[int]:
    """Pids whose environment names this moto endpoint: the run's runtime emulators, were any left."""
    marker = f"AWS_ENDPOINT_URL={endpoint_url}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes() + b"\0":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    if not BUILD_DIR.is_dir() or not RUNTIME_PYTHON.exists():
        pytest.fail("run `make build` and `make runtime` before the e2e suite")
    out = tmp_path_factory.mktemp("chaos") / "chaos-report.json"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("SIGNICAT_")}
    finished = subprocess.run(
        [sys.executable, "-m", "local.chaos", "--signings", str(SIGNINGS), "--out", str(out)],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return finished, report


def test_chaos_run_loses_nothing_and_does_nothing_twice(chaos):
    finished, report = chaos

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert report["signings"] == report["started"] == sum(report["finalStates"].values()) == SIGNINGS
    assert report["lost"] == 0, report["lostSignings"]
    assert report["duplicates"] == 0, report["duplicateDetail"]
    assert report["unstarted"] == 0, report["unstartedSignings"]


def test_chaos_run_ends_each_signing_as_what_was_done_to_it_calls_for_and_announces_it(chaos):
    _, report = chaos

    assert report["wrongFinalStates"] == 0, report["wrongFinalStateSignings"]
    assert report["unannounced"] == 0, report["unannouncedSignings"]
    assert {"COMPLETED", "REJECTED", "CANCELLED"} <= set(report["finalStates"]), report["finalStates"]
    assert report["announcements"]["events"] >= SIGNINGS


def test_chaos_run_mixed_every_kind_of_signing(chaos):
    _, report = chaos

    mix = report["mix"]
    assert {kind: mix.get(kind, 0) for kind in MIX_KINDS if not mix.get(kind)} == {}
    assert sum(mix[f"origin.{origin}"] for origin in ("api", "drop")) == SIGNINGS
    assert report["settings"]["seed"] == 7  # the mix is the seed's: the same run again is the same mix


def test_chaos_run_injected_every_kind_of_fault(chaos):
    _, report = chaos
    faults = report["faults"]

    injected = {kind: faults["emulator"].get(kind, 0) for kind in FAULT_KINDS}
    assert all(count > 0 for count in injected.values()), injected
    assert faults["workerKilledByTimeout"] > 0  # a stalled download outlived the worker: killed mid-stream
    assert faults["clientPostRetries"] > 0  # a 502 answered POST /signings was retried with its key
    assert faults["reconciler"]["queued"] > 0  # the reconciler did catch signings up


def test_chaos_report_says_what_it_set_and_how_long_it_took(chaos):
    _, report = chaos

    settings = report["settings"]
    assert settings["reconcileAfterMinutes"] == 0
    assert settings["packageQueueVisibilitySeconds"] >= 6 * settings["workerTimeoutSeconds"]
    assert settings["faults"]["stall_seconds"] > settings["workerTimeoutSeconds"]
    assert report["timings"]["signedToCompletedSeconds"]["max"] > 0
    assert "messages" in report["dlq"] and "why" in report["dlq"]


def test_chaos_run_leaves_no_process_behind(chaos):
    _, report = chaos

    deadline = time.monotonic() + 5
    while (left := _processes_using(report["settings"]["awsEndpointUrl"])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []


def test_a_stalled_download_sends_half_then_waits_then_the_rest():
    from local.emulator import EmulatorConfig, EmulatorServer
    from local.emulator.config import Faults

    config = EmulatorConfig(faults=Faults(stall_rate=1.0, stall_seconds=0.5))
    with EmulatorServer(config) as server:
        form = {"grant_type": "client_credentials", "scope": "signicat-api"}
        form |= {"client_id": config.client_id, "client_secret": config.client_secret}
        token = requests.post(f"{server.url}/auth/open/connect/token", data=form, timeout=10).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        body = b"%PDF-1.7\n" + bytes(range(256)) * 400
        upload = requests.post(
            f"{server.url}/sign/documents",
            data=body,
            headers={**auth, "Content-Type": "application/pdf"},
            timeout=10,
        ).json()

        began = time.monotonic()
        with requests.get(
            f"{server.url}/sign/documents/{upload['documentId']}", headers=auth, stream=True, timeout=10
        ) as answer:
            first = answer.raw.read(len(body) // 2)
            halfway = time.monotonic() - began
            rest = answer.raw.read()
        whole = time.monotonic() - began
        faults = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()["faults"]

    assert first + rest == body
    assert halfway < 0.4
    assert whole >= 0.45
    assert faults == {"stall": 1}
