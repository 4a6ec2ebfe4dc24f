import time

import pytest

from local.emulator import Faults
from tests.emulator.conftest import Api, http, wait_until


@pytest.fixture
def hooked(make_emulator, receiver):
    server = make_emulator(webhook_urls=[receiver.url])
    client = Api(server.url)
    yield server, client
    client.http.close()


def test_error_rate_answers_503_problems_and_counts_them(api):
    api.get_token()
    assert api.set_faults(error_rate=1).ok
    answer = api.call("GET", "/sign/signing-sessions")
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "service_unavailable"
    assert api.stats()["faults"]["error"] == 1
    api.set_faults(error_rate=0)
    assert api.call("GET", "/sign/signing-sessions").status_code == 200


def test_error_rate_set_at_start_applies_to_the_token_endpoint(make_emulator):
    api = Api(make_emulator(faults=Faults(error_rate=1.0)).url)
    answer = api.http.post(f"{api.base}/auth/open/connect/token", data={"grant_type": "client_credentials"})
    assert answer.status_code == 503


def test_throttle_rate_answers_429_with_retry_after(api):
    api.get_token()
    api.set_faults(throttle_rate=1, retry_after=3)
    answer = api.call("GET", "/sign/signing-sessions")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"
    assert answer.json()["code"] == "too_many_requests"
    assert api.stats()["faults"]["throttle"] == 1


def test_latency_delays_api_calls(api):
    api.get_token()
    api.set_faults(latency=0.3)
    started = time.monotonic()
    assert api.call("GET", "/sign/signing-sessions").ok
    assert time.monotonic() - started >= 0.3
    assert api.stats()["faults"]["latency"] == 1


def test_faults_spare_the_emulators_own_endpoints(api):
    session = api.new_session()
    api.set_faults(error_rate=1, throttle_rate=1)
    assert api.act(session["id"], "sign").status_code == 200
    assert http("GET", session["signatureUrl"]).status_code == 200


def test_same_seed_injects_the_same_faults(make_emulator):
    def statuses(seed: int) -> list[int]:
        api = Api(make_emulator(seed=seed, faults=Faults(error_rate=0.5)).url)
        form = {"grant_type": "client_credentials"}
        return [
            api.http.post(f"{api.base}/auth/open/connect/token", data=form).status_code for _ in range(20)
        ]

    first = statuses(7)
    assert first == statuses(7)
    assert set(first) == {401, 503}


def test_dropped_delivery_never_arrives(hooked, receiver):
    _, api = hooked
    api.set_faults(drop_rate=1)
    api.act(api.new_session()["id"], "reject")
    stats = wait_until(lambda: (s := api.stats())["deliveries"]["dropped"] == 1 and s)
    time.sleep(0.1)
    assert receiver.received == []
    assert stats["deliveries"]["attempted"] == 0
    assert stats["faults"]["drop"] == 1


def test_duplicated_delivery_arrives_twice_with_the_same_event_id(hooked, receiver):
    _, api = hooked
    api.set_faults(duplicate_rate=1)
    api.act(api.new_session()["id"], "reject")
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert api.stats()["deliveries"]["duplicated"] == 1


def test_reordered_delivery_arrives_after_the_next_one(hooked, receiver):
    _, api = hooked
    first, second = api.new_session(), api.new_session()
    api.set_faults(reorder_rate=1, reorder_hold=5)
    api.act(first["id"], "reject")
    wait_until(lambda: api.stats()["deliveries"]["reordered"] == 1)
    api.act(second["id"], "reject")
    received = receiver.wait_for(2)
    assert [r.event["eventData"]["id"] for r in received] == [second["id"], first["id"]]


def test_held_delivery_is_released_when_no_other_follows(hooked, receiver):
    _, api = hooked
    api.set_faults(reorder_rate=1, reorder_hold=0.1)
    api.act(api.new_session()["id"], "reject")
    assert len(receiver.wait_for(1)) == 1
    assert api.stats()["faults"]["reorder"] == 1


def test_packaging_failure_delivers_package_failed_and_no_package(hooked, receiver):
    _, api = hooked
    api.set_faults(packaging_failure_rate=1)
    session = api.new_session()
    api.act(session["id"], "sign")
    [received] = receiver.wait_for(1)
    assert received.event["eventName"] == "package.failed"
    assert received.event["eventData"]["reason"] == "PACKAGING_FAILED"
    assert api.session(session["id"])["output"]["packages"] == []
    assert api.stats()["faults"]["packaging_failure"] == 1


def test_packaging_delay_postpones_the_package(hooked, receiver):
    _, api = hooked
    api.set_faults(packaging_delay=0.4)
    session = api.new_session()
    started = time.monotonic()
    api.act(session["id"], "sign")
    receiver.wait_for(1)
    assert time.monotonic() - started >= 0.4
    assert api.stats()["faults"]["packaging_delay"] == 1


def test_faults_can_be_read_back(api):
    api.set_faults(drop_rate=0.25)
    assert http("GET", f"{api.base}/_emulator/faults").json()["drop_rate"] == 0.25


@pytest.mark.parametrize(
    "body", [{"error_rate": 2}, {"explode": 1}, {"latency": -1}, {"retry_after": 1.5}, ["error_rate"]]
)
def test_invalid_fault_settings_are_refused(api, body):
    answer = http("PUT", f"{api.base}/_emulator/faults", json=body)
    assert answer.status_code == 400
    assert answer.json()["detail"]


def test_stats_count_requests_per_endpoint(api):
    api.upload()
    api.upload()
    session = api.new_session()
    api.session(session["id"])
    requests_ = api.stats()["requests"]
    assert requests_["POST /auth/open/connect/token"] == 1
    assert requests_["POST /sign/documents"] == 3
    assert requests_["GET /sign/signing-sessions/{session_id}"] == 1


def test_reset_stats_zeroes_the_counters(api):
    api.upload()
    reset = http("POST", f"{api.base}/_emulator/reset-stats").json()
    assert reset["requests"] == {}
    assert api.stats()["requests"] == {}
