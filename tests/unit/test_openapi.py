"""docs/openapi.json is generated from the API's code and must stay current."""

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.functions import load_handler
from tools.openapi import generate

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current():
    assert COMMITTED.read_text() == generate(), "docs/openapi.json is stale: run `make openapi`"


def test_openapi_document_describes_every_route_and_its_problems():
    document = json.loads(generate())
    assert set(document["paths"]) == {"/signings", "/signings/{signingId}", "/uploads"}
    assert set(document["paths"]["/signings/{signingId}"]) == {"get", "delete"}
    start = document["paths"]["/signings"]["post"]
    assert {"201", "400", "413", "502"} <= set(start["responses"])
    assert "application/problem+json" in start["responses"]["400"]["content"]


@pytest.mark.parametrize(("path", "model_name"), [("/signings", "StartSigningIn"), ("/uploads", "UploadIn")])
def test_every_request_the_document_allows_passes_the_apis_own_validation(path, model_name):
    """Schema-valid means valid: the document states every shape rule the API enforces (e.g. a document has
    exactly one of content and uploadId), so a generated request never meets a 400 the document did not promise."""
    model = getattr(load_handler("api"), model_name)
    operation = schemathesis.openapi.from_dict(json.loads(generate()))[path]["POST"]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def accepted(case):
        model.model_validate(case.body)

    accepted()
