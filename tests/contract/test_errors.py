"""How refused requests are answered: application/problem+json, lowercase codes, invalidParams naming fields."""

from __future__ import annotations

import uuid

import pytest

from signing_core.signicat_errors import SignicatError
from tests.contract.checks import assert_problem, invalid_param_names, reference, signable
from tests.contract.recording import SESSIONS
from tests.contract.test_sessions import listed_total


def test_refused_session_is_a_problem_naming_the_field(client, target):
    """A session without its title is 400 invalid_request_parameter with {type, title, status, code, detail,
    traceId} and an invalidParams entry {name, reason} naming the title; the client maps it field by field."""
    item = signable(target, client)
    del item["title"]
    answer = target.api.call("POST", "/signing-sessions", json=[item])
    problem = assert_problem(answer, 400, "invalid_request_parameter")
    assert any("title" in name.lower() for name in invalid_param_names(problem))
    with pytest.raises(SignicatError) as refused:
        client.create_signing_sessions([item])
    error = refused.value
    assert (error.status, error.code) == (400, "invalid_request_parameter")
    assert error.trace_id and error.invalid_params


def test_refused_array_creates_no_session(client, target):
    """When one item of the array is refused, none is created: the product relies on it to start again."""
    listed_total(target)
    good = signable(target, client)
    bad = {key: value for key, value in good.items() if key != "title"} | {"externalReference": reference()}
    assert_problem(target.api.call("POST", "/signing-sessions", json=[good, bad]), 400)
    references = {good["externalReference"], bad["externalReference"]}
    offset, made = 0, []
    while True:
        page = client.list_signing_sessions(limit=100, offset=offset)
        made += [s["id"] for s in page if s.get("externalReference") in references]
        if len(page) < 100:
            break
        offset += 100
    target.recorder.ledger.created[SESSIONS].extend(made)  # so that the cleanup deletes them
    assert made == []


def test_session_body_must_be_an_array(client, target):
    """POST /signing-sessions takes a JSON array: a single object is refused with a problem."""
    assert_problem(target.api.call("POST", "/signing-sessions", json=signable(target, client)), 400)


def test_malformed_json_is_refused_with_a_problem(target):
    """A body that is not JSON is 400 with a problem, not a 5xx."""
    answer = target.api.call(
        "POST", "/signing-sessions", data=b'[{"title": ', headers={"Content-Type": "application/json"}
    )
    assert_problem(answer, 400)


def test_unknown_session_is_404_not_found(client, target):
    """A session that never existed is 404 not_found; the client raises it as a SignicatError with that code."""
    unknown = str(uuid.uuid4())
    assert_problem(target.api.call("GET", f"/signing-sessions/{unknown}"), 404, "not_found")
    with pytest.raises(SignicatError) as missing:
        client.get_signing_session(unknown)
    assert (missing.value.status, missing.value.code) == (404, "not_found")
