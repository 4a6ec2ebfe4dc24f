import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from local.emulator import EmulatorConfig, EmulatorServer, create_app, emulator_of
from local.emulator.__main__ import config_from, parse_args
from tests.emulator.conftest import CLIENT_ID, CLIENT_SECRET, Api, Receiver, http

ROOT = Path(__file__).resolve().parents[2]


def test_stop_leaves_no_thread_running():
    before = set(threading.enumerate())
    receiver = Receiver().start()
    config = EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_urls=[receiver.url],
        webhook_secret="s",
        packaging_delay=0.01,
    )
    with EmulatorServer(config) as server:
        api = Api(server.url)
        api.act(api.new_session()["id"], "sign")
        receiver.wait_for(1)
        api.http.close()
        assert server.emulator.packager.scheduler.running
        assert server.emulator.deliverer.scheduler.running
    receiver.stop()
    assert not server.emulator.packager.scheduler.running
    assert not server.emulator.deliverer.scheduler.running
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == []


def test_start_sets_the_public_base_url_to_the_bound_address():
    with EmulatorServer(EmulatorConfig()) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.config.public_base_url == server.url


def test_ca_certificate_is_served_and_returned(emulator):
    assert http("GET", f"{emulator.url}/_emulator/ca.pem").content == emulator.ca_pem()
    assert emulator.ca_pem().startswith(b"-----BEGIN CERTIFICATE-----")


def test_app_without_a_server_starts_no_thread():
    before = set(threading.enumerate())
    app = create_app(EmulatorConfig())
    assert app.test_client().get("/sign/signing-sessions").status_code == 401
    emulator_of(app).close()
    assert set(threading.enumerate()) == before


@pytest.mark.parametrize(
    "settings",
    [
        {"webhook_auth_mode": "basic"},
        {"token_lifetime": 0},
        {"webhook_urls": ["http://127.0.0.1:1/"], "webhook_auth_mode": "hmac"},
        {"webhook_urls": ["http://127.0.0.1:1/"], "webhook_auth_mode": "token"},
        {"collection_event_shape": "both"},
        {"faults": {"drop_rate": 1.5}},
    ],
)
def test_invalid_configuration_is_refused(settings):
    with pytest.raises(ValueError, match=r"webhook|token_lifetime|drop_rate|collection_event_shape"):
        EmulatorConfig(**settings)


def test_command_line_prints_its_url_and_stops_on_sigterm():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.emulator",
            "--port",
            "0",
            "--client-id",
            "cli",
            "--client-secret",
            "pw",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("signicat-emulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        form = {"grant_type": "client_credentials", "client_id": "cli", "client_secret": "pw"}
        assert http("POST", f"{url}/auth/open/connect/token", data=form).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_unexpected_error_answers_a_500_problem_without_a_stack_trace(emulator, api, monkeypatch):
    def broken(*_args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(emulator.emulator.store, "document", broken)
    answer = api.call("GET", "/sign/documents/any")
    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "internal_server_error"
    assert "a bug" not in answer.text and "Traceback" not in answer.text


def test_command_line_sets_the_event_shape_and_the_auth_mode():
    config = config_from(parse_args(["--collection-event-shape", "sessions", "--webhook-auth-mode", "hmac"]))
    assert (config.collection_event_shape, config.webhook_auth_mode) == ("sessions", "hmac")
    assert config_from(parse_args([])).webhook_auth_mode == "url"


def test_command_line_refuses_bad_faults():
    result = subprocess.run(
        [sys.executable, "-m", "local.emulator", "--faults", '{"error_rate": 3}'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "error_rate" in result.stderr
