"""The signing API fuzzed against its own OpenAPI document (docs/openapi.json), over HTTP, on the offline
stack: the API function under the Lambda runtime emulator, moto, and the Sign API v2 emulator.

Each operation gets a bounded, deterministic set of cases (the document's examples, boundary values,
then up to MAX_EXAMPLES generated requests, valid and invalid), so the run is the same every time and
short enough for CI. Three properties are checked, each in its own test so that one gap cannot hide the
others: no answer is a server error, every status code is one the document declares, and every answer's
body matches the schema the document gives for that status. A stateful phase then runs sequences that
follow the document's links (start a signing, read it, cancel it) with the same three checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from local.rie import REPO
from tests.e2e.conftest import e2e_stack, running

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 25

schema = schemathesis.openapi.from_path(REPO / "docs" / "openapi.json")
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
# Over HTTP to real processes: no per-example deadline, and no complaint that generation is slow.
fuzz_settings = settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=False)


VALID_SIGNING = {
    "title": "Fuzzing round trip",
    "documents": [{"filename": "terms.txt", "contentType": "text/plain", "content": "VGVybXMu"}],
    "signers": [{"email": "signer@example.com"}],
}


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The offline stack's API base URL, for the whole module; the stack stops afterwards."""
    with running(e2e_stack(tmp_path_factory)) as offline:
        yield offline.api_url


@pytest.fixture(scope="module")
def http(api_url: str) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# --- the fuzzing -----------------------------------------------------------------------------------------


def test_offline_api_starts_and_reads_a_signing_so_fuzzing_is_not_vacuous(api_url, http):
    """Every fuzzed answer could be a declared 404 if routing were broken: first, one real round trip."""
    started = http.post(f"{api_url}/signings", json=VALID_SIGNING, timeout=30)
    assert started.status_code == 201, started.text

    read = http.get(f"{api_url}/signings/{started.json()['signingId']}", timeout=30)
    assert read.status_code == 200, read.text
    assert read.json()["state"] == "AWAITING_SIGNATURE"


@schema.parametrize()
@fuzz_settings
def test_api_never_answers_with_a_server_error(case, api_url, http):
    case.call_and_validate(base_url=api_url, session=http, checks=[not_a_server_error], timeout=30)


@schema.parametrize()
@fuzz_settings
def test_api_answers_only_status_codes_the_document_declares(case, api_url, http):
    case.call_and_validate(base_url=api_url, session=http, checks=[status_code_conformance], timeout=30)


@schema.parametrize()
@fuzz_settings
def test_api_answers_match_the_documented_response_schema(case, api_url, http):
    case.call_and_validate(base_url=api_url, session=http, checks=[response_schema_conformance], timeout=30)


# Stateful phase: sequences that follow the document's links (a started signing → read it, cancel it). Each
# answer is checked as above; `use_after_free` does not apply: DELETE cancels a signing, which stays readable.
STATEFUL_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
STATEFUL_SCENARIOS = 20
stateful_schema = schemathesis.openapi.from_path(REPO / "docs" / "openapi.json")
stateful_schema.config.generation.update(deterministic=True, database="none")
STARTABLE_DOCUMENT = {"filename": "terms.txt", "contentType": "text/plain", "content": "VGVybXMu"}


@stateful_schema.hook.apply_to(method="POST", path="/signings")
def flatmap_body(context, body):
    """Half the start requests stay as generated; the other half get documents and a title Signicat accepts
    (rules the schema cannot state: a PDF's magic bytes, UTF-8 text, a non-blank title, a due date in the window),
    so that sequences reach real signings and then follow the links to them."""
    if not isinstance(body, dict):
        return strategies.just(body)
    startable = {key: value for key, value in body.items() if key != "dueDate"}
    startable["title"] = "Fuzzed signing"
    startable["documents"] = [STARTABLE_DOCUMENT] * max(1, min(len(body.get("documents") or []), 3))
    return strategies.sampled_from([body, startable])


def test_api_holds_its_document_through_sequences_that_follow_its_links(api_url, http):
    answered: list[tuple[str, int]] = []

    class AgainstTheStack(stateful_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": api_url, "session": http, "timeout": 30}

        def after_call(self, response, case):
            answered.append((case.operation.label, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs)

    AgainstTheStack.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )

    # Not vacuous: real signings were started, then read and cancelled (only a started signing's id, which only
    # a link carries, answers 200).
    assert {
        ("POST /signings", 201),
        ("GET /signings/{signingId}", 200),
        ("DELETE /signings/{signingId}", 200),
    } <= set(answered), answered


@pytest.mark.parametrize("media_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_api_refuses_a_body_in_an_undeclared_media_type_with_415(api_url, http, media_type):
    answer = http.post(
        f"{api_url}/signings",
        data=json.dumps(VALID_SIGNING),
        headers={"Content-Type": media_type},
        timeout=30,
    )

    assert answer.status_code == 415, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "415" in schema.raw_schema["paths"]["/signings"]["post"]["responses"]


def test_api_refuses_a_body_that_is_not_utf8_with_400(api_url, http):
    answer = http.post(
        f"{api_url}/signings",
        data=b'{"title": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
