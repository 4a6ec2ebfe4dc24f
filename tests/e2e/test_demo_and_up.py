"""`make demo` and `make up` as a person runs them: real subprocesses, each with its own out dir."""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from local.rie import REPO
from tests.browser import chromium, identify_and_sign, new_page
from tests.e2e.conftest import processes_of, require_build

STACK_KEYS = {
    "apiUrl",
    "webhookUrl",
    "emulatorUrl",
    "awsEndpointUrl",
    "region",
    "accessKeyId",
    "secretAccessKey",
    "documentsBucket",
    "table",
    "queueUrl",
}


class Running:
    """A subprocess (`python -m <module>`, or a whole command) whose output lines are read as they come."""

    def __init__(self, module: str, *args: str, command: list[str] | None = None) -> None:
        environ = {name: value for name, value in os.environ.items() if not name.startswith("SIGNICAT_")}
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; output so far:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 90) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            # Where every thread of it is stuck (the demo and make up dump them on SIGUSR1), then its output.
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            self.kill()
            self._drain()
            raise AssertionError(
                f"still running after {timeout} s; its output:\n" + "\n".join(self.lines)
            ) from None
        self._drain()
        return code, "\n".join(self.lines)

    def _drain(self) -> None:
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run():
    require_build()
    started: list[Running] = []

    def start(module: str, *args: str, command: list[str] | None = None) -> Running:
        started.append(Running(module, *args, command=command))
        return started[-1]

    yield start
    for running in started:
        running.kill()


def _endpoint(out: Path) -> str:
    return json.loads((out / "stack.json").read_text())["awsEndpointUrl"]


def _intact_and_valid(pdf: bytes) -> bool:
    """Intact and valid (the emulator's CA is gone with the demo's stack, so trust is not asked)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[]))
    return status.intact and status.valid


def test_demo_tells_the_story_and_leaves_a_valid_pades_in_the_out_dir(run, tmp_path):
    code, output = run("local.demo", "--out-dir", str(tmp_path)).finish()

    assert code == 0, output
    (pdf_path,) = tmp_path.glob("*.pdf")
    pdf = pdf_path.read_bytes()
    for stage in ("stack ready", "signing started", "signed by the emulator", "COMPLETED", "validated"):
        assert stage in output
    assert f"signingId     {pdf_path.stem}" in output
    assert f"sha256      {hashlib.sha256(pdf).hexdigest()}" in output
    assert "integrity   intact, valid, trusted" in output
    assert "webhook → stored" in output.split("Stages")[1]
    assert _intact_and_valid(pdf)
    assert processes_of(_endpoint(tmp_path)) == []


def test_demo_names_the_failed_stage_exits_1_and_points_to_the_logs(run, tmp_path):
    demo = run("local.demo", "--out-dir", str(tmp_path), "--faults", '{"packaging_failure_rate": 1}')

    code, output = demo.finish()

    assert code == 1, output
    assert "✘ webhook → stored failed: the signing ended FAILED (PACKAGING_FAILED" in output
    assert f"see {tmp_path}/logs/*.log" in output
    assert not list(tmp_path.glob("*.pdf"))
    assert processes_of(_endpoint(tmp_path)) == []


def test_interactive_demo_waits_for_a_person_who_identifies_and_clicks_sign_in_a_browser(run, tmp_path):
    """Headless Chromium on the emulator's signing page, as a person: someone else is refused, the signer signs."""
    demo = run("local.demo", "--interactive", "--out-dir", str(tmp_path))
    url = demo.wait_for_line("signatureUrl").split()[-1]
    number = demo.wait_for_line("national identity number").split()[-1]
    demo.wait_for_line("click Sign; waiting")

    with chromium() as browser, new_page(browser) as page:
        page.goto(url)
        expect(page.get_by_text("tenant@example.com")).to_be_visible()
        expect(page.get_by_text(f"ending in {number[-4:]}")).to_be_visible()
        identify_and_sign(page, "Eve Mallory", "02027054321")
        expect(page.get_by_role("alert")).to_contain_text("does not match")
        identify_and_sign(page, "Tenant Example", number)
        expect(page.get_by_text("You have signed.")).to_be_visible()
    code, output = demo.finish()

    assert code == 0, output
    assert "the signer acted" in output
    (pdf_path,) = tmp_path.glob("*.pdf")
    assert _intact_and_valid(pdf_path.read_bytes())
    assert "signed by   Tenant Example" in output  # the person who identified, not the one refused
    assert "Eve Mallory" not in output


def test_ctrl_c_stops_the_demo_and_every_process_it_started(run, tmp_path):
    # Started with SIGINT ignored, as a shell's background job or a CI runner starts it: Ctrl-C still stops it.
    demo = run(
        "local.demo",
        command=[
            "sh",
            "-c",
            'trap "" INT; exec "$0" -m local.demo --interactive --out-dir "$1"',
            sys.executable,
            str(tmp_path),
        ],
    )
    demo.wait_for_line("click Sign; waiting")
    endpoint = _endpoint(tmp_path)
    assert processes_of(endpoint)

    demo.process.send_signal(signal.SIGINT)
    code, output = demo.finish()

    assert code == 130, output
    assert "interrupted" in output
    assert processes_of(endpoint) == []


def test_up_serves_the_stack_until_sigterm_then_stops_everything(run, tmp_path):
    up = run("local.up", "--out-dir", str(tmp_path))
    up.wait_for_line("Ctrl-C stops everything.")
    info = json.loads((tmp_path / "stack.json").read_text())
    missing = requests.get(f"{info['apiUrl']}/signings/no-such-signing", timeout=30)
    assert processes_of(info["awsEndpointUrl"])

    up.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    code, output = up.finish()
    stop_seconds = time.monotonic() - began

    assert info.keys() >= STACK_KEYS
    assert f"API            {info['apiUrl']}" in output
    assert f"stack.json     {tmp_path / 'stack.json'}" in output
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert code == 0, output
    assert output.endswith("stopped")
    assert processes_of(info["awsEndpointUrl"]) == []
    assert stop_seconds < 10, f"the stop took {stop_seconds:.1f} s"


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").glob("*/children")
        for child in task.read_text().split()
    ]


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie waiting for whoever adopted it."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_make_up_stops_everything_within_seconds_when_its_parent_dies(run, tmp_path):
    make = run("", command=["make", "--no-print-directory", "up", f"OUT={tmp_path}"])
    make.wait_for_line("Ctrl-C stops everything.", timeout=120)
    endpoint = _endpoint(tmp_path)
    (up,) = _children(make.process.pid)  # make runs local.up itself (one command: no shell in between)
    assert processes_of(endpoint)

    make.process.kill()  # make dies without a word to its child
    deadline = time.monotonic() + 15
    while (_alive(up) or processes_of(endpoint)) and time.monotonic() < deadline:
        time.sleep(0.2)
    survived = _alive(up)
    if survived:
        os.kill(up, signal.SIGTERM)  # not left behind by this test, whatever it found

    assert not survived
    assert processes_of(endpoint) == []
