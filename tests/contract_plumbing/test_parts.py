"""The contract suite's parts on their own: settings from the environment, shapes and their diff, the ledger."""

from __future__ import annotations

import pytest
import requests

from tests.contract.recording import Recorder
from tests.contract.settings import DEFAULT_REPORT, ContractSettings
from tests.contract.shapes import diff, shape_of

SANDBOX = {
    "SIGNICAT_SANDBOX": "1",
    "SIGNICAT_CLIENT_ID": "id",
    "SIGNICAT_CLIENT_SECRET": "secret",
    "SIGNICAT_API_URL": "https://api.signicat.com/sign/",
}


def test_without_sandbox_the_emulator_is_the_only_target_and_no_report_is_written():
    settings = ContractSettings.from_env({})
    assert (settings.targets, settings.sandbox, settings.report_path) == (["emulator"], None, None)


def test_sandbox_settings_default_the_token_url_report_and_helper():
    settings = ContractSettings.from_env(SANDBOX)
    assert settings.targets == ["emulator", "sandbox"]
    assert settings.report_path == DEFAULT_REPORT
    sandbox = settings.sandbox
    assert sandbox.api_url == "https://api.signicat.com/sign"
    assert sandbox.token_url == "https://api.signicat.com/auth/open/connect/token"
    assert (sandbox.signing_helper, sandbox.identity_provider) == ((), "ftn")


def test_sandbox_settings_take_the_helper_as_a_command_line():
    settings = ContractSettings.from_env(
        {
            **SANDBOX,
            "SIGNICAT_SIGNING_HELPER": "node sign.js --profile 'test user'",
            "SIGNICAT_CONTRACT_IDP": "nbid",
        }
    )
    assert settings.sandbox.signing_helper == ("node", "sign.js", "--profile", "test user")
    assert settings.sandbox.identity_provider == "nbid"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"SIGNICAT_API_URL": "api.signicat.com/sign"}, "SIGNICAT_API_URL must be an http(s) URL"),
        ({"SIGNICAT_TOKEN_URL": "ftp://x/token"}, "SIGNICAT_TOKEN_URL must be an http(s) URL"),
        (
            {"SIGNICAT_CONTRACT_PATIENCE": "-1"},
            "SIGNICAT_CONTRACT_PATIENCE must be a number of seconds above 0",
        ),
        ({"SIGNICAT_SIGNING_HELPER_TIMEOUT": "soon"}, "SIGNICAT_SIGNING_HELPER_TIMEOUT must be a number"),
        ({"SIGNICAT_CLIENT_SECRET": ""}, "SIGNICAT_SANDBOX=1 needs SIGNICAT_CLIENT_SECRET"),
    ],
)
def test_sandbox_settings_name_what_is_wrong(change, said):
    with pytest.raises(ValueError, match=said.replace("(", r"\(").replace(")", r"\)")):
        ContractSettings.from_env({**SANDBOX, **change})


def test_shape_has_paths_and_types_never_values():
    shape = shape_of(
        {"id": "abc", "n": 1, "x": 1.5, "ok": True, "none": None, "items": [{"a": "b"}, {"a": 2}]}
    )
    assert shape == {
        "$": {"object"},
        "$.id": {"string"},
        "$.n": {"integer"},
        "$.x": {"number"},
        "$.ok": {"boolean"},
        "$.none": {"null"},
        "$.items": {"array"},
        "$.items[]": {"object"},
        "$.items[].a": {"string", "integer"},
    }


def test_shape_redacts_keys_that_are_identifiers():
    shape = shape_of({"0197d5fb-d3ce-70c0-a420-68972e1c4d57": {"state": "READY"}})
    assert set(shape) == {"$", "$.{key}", "$.{key}.state"}


def test_diff_names_fields_types_and_endpoints_each_side_lacks():
    emulator = {
        "GET /x 2xx": shape_of({"a": "s", "b": 1, "gone": True}),
        "GET /only-emulator 2xx": shape_of({}),
    }
    sandbox = {
        "GET /x 2xx": shape_of({"a": "s", "b": "1", "extra": {"c": None}}),
        "GET /only-sandbox 2xx": shape_of({}),
    }
    assert diff(sandbox, emulator) == {
        "sandboxOnly": [
            {"endpoint": "GET /x 2xx", "path": "$.extra", "types": ["object"]},
            {"endpoint": "GET /x 2xx", "path": "$.extra.c", "types": ["null"]},
        ],
        "typeDifferences": [
            {"endpoint": "GET /x 2xx", "path": "$.b", "sandbox": ["string"], "emulator": ["integer"]}
        ],
        "emulatorOnly": [{"endpoint": "GET /x 2xx", "path": "$.gone", "types": ["boolean"]}],
        "endpointsOnlyAtSandbox": ["GET /only-sandbox 2xx"],
        "endpointsOnlyAtEmulator": ["GET /only-emulator 2xx"],
    }


def answer(method: str, url: str, status: int, body: bytes = b"", content_type: str = "application/json"):
    response = requests.Response()
    response.status_code, response._content = status, body
    response.headers["Content-Type"] = content_type
    response.request = requests.Request(method, url).prepare()
    return response


def test_ledger_counts_what_was_created_deleted_and_found_gone():
    recorder = Recorder("https://sign.example/sign", "https://sign.example/token")
    api = "https://sign.example/sign"
    recorder.hook(answer("POST", f"{api}/signing-sessions", 201, b'[{"id": "s1"}, {"id": "s2"}]'))
    recorder.hook(answer("POST", f"{api}/documents", 200, b'{"documentId": "d1"}'))
    recorder.hook(answer("POST", f"{api}/documents", 415, b'{"code": "unsupported_media_type"}'))
    recorder.hook(answer("DELETE", f"{api}/signing-sessions/s1", 204))
    recorder.hook(answer("DELETE", f"{api}/documents/d1", 404, b"{}"))
    recorder.hook(answer("DELETE", f"{api}/signing-sessions/not-ours", 204))
    recorder.hook(answer("GET", "https://elsewhere.example/sign?sessionId=s1", 200, b"{}"))
    assert recorder.ledger.counts() == {
        "sessions": {"created": 2, "deleted": 1, "alreadyGone": 0, "left": ["s2"]},
        "collections": {"created": 0, "deleted": 0, "alreadyGone": 0, "left": []},
        "documents": {"created": 1, "deleted": 0, "alreadyGone": 1, "left": []},
    }
    assert recorder.calls == {
        "POST /signing-sessions": 1,
        "POST /documents": 2,
        "DELETE /signing-sessions/{id}": 2,
        "DELETE /documents/{id}": 1,
    }
    assert set(recorder.shapes) == {
        "POST /signing-sessions 2xx",
        "POST /documents 2xx",
        "POST /documents 4xx",
        "DELETE /documents/{id} 4xx",
    }
