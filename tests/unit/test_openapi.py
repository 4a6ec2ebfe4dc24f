"""docs/openapi.json is generated from the API's code and must stay current."""

import json
from pathlib import Path

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
