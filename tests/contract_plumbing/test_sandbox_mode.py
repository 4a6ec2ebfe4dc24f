"""The contract suite's sandbox mode, run for real against a stand-in sandbox (an emulator behind a proxy that
adds fields to its answers): both columns of the report, the shape diff, skips and their reasons, the signing
helper, and a cleanup that leaves nothing behind, also when tests fail."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local.rie import REPO
from tests.contract.signing import NO_HELPER
from tests.contract_plumbing.stand_in import Rule, StandInSandbox

CLIENT_ID, CLIENT_SECRET = "stand-in-client", "stand-in-secret"
MARKER = "stand-in-value-4c1d"  # every added value carries it: the report must not
SIGNING_TESTS = {
    "test_signed_session_is_final_with_its_raw_signature",
    "test_session_package_to_gives_its_own_pades",
    "test_collection_package_waits_for_every_session_and_holds_every_signature",
    "test_blocked_session_is_ready_once_its_predecessor_is_signed",
    "test_rejected_session_is_final_and_still_readable",
}
HASH_TESTS = {
    "test_upload_answers_id_type_and_sha256_hash[application/pdf]",
    "test_upload_answers_id_type_and_sha256_hash[text/plain]",
}
SESSION_ITEM, SESSION = "/sign/signing-sessions", r"/sign/signing-sessions/[^/]+"
ADDED_FIELDS = [
    Rule("POST", "/sign/documents", 2, lambda body: body["documentHash"].update(encoding=MARKER)),
    Rule("POST", SESSION_ITEM, 2, lambda body: [session.update(tags=[MARKER]) for session in body]),
    Rule("GET", SESSION, 2, lambda body: body["lifecycle"].update(updatedAt=MARKER)),
    Rule("GET", SESSION, 4, lambda body: body.update(instance=MARKER)),
    Rule("GET", SESSION_ITEM, 2, lambda body: body.update(nextOffset=None)),
    Rule("POST", "/auth/open/connect/token", 2, lambda body: body.update(issuedAt=1767225600)),
]
# What the report must list as sent by the sandbox and not by the emulator, for exactly those rules.
EXPECTED_SANDBOX_ONLY = [
    {"endpoint": "GET /signing-sessions 2xx", "path": "$.nextOffset", "types": ["null"]},
    {"endpoint": "GET /signing-sessions/{id} 2xx", "path": "$.lifecycle.updatedAt", "types": ["string"]},
    {"endpoint": "GET /signing-sessions/{id} 4xx", "path": "$.instance", "types": ["string"]},
    {"endpoint": "POST /documents 2xx", "path": "$.documentHash.encoding", "types": ["string"]},
    {"endpoint": "POST /signing-sessions 2xx", "path": "$[].tags", "types": ["array"]},
    {"endpoint": "POST /signing-sessions 2xx", "path": "$[].tags[]", "types": ["string"]},
    {"endpoint": "POST token 2xx", "path": "$.issuedAt", "types": ["integer"]},
]


def run_suite(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIGNICAT_") and k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/contract", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def sandbox_env(sandbox: StandInSandbox, report: Path, **more: str) -> dict[str, str]:
    return {
        "SIGNICAT_SANDBOX": "1",
        "SIGNICAT_CLIENT_ID": CLIENT_ID,
        "SIGNICAT_CLIENT_SECRET": CLIENT_SECRET,
        "SIGNICAT_API_URL": f"{sandbox.url}/sign",
        "SIGNICAT_CONTRACT_REPORT": str(report),
        "SIGNICAT_CONTRACT_PATIENCE": "10",
        **more,
    }


def results(report: dict, target: str) -> dict[str, dict]:
    return {entry["behaviour"]: entry["results"][target] for entry in report["behaviours"]}


def assert_cleaned_up(report: dict, sandbox: StandInSandbox) -> dict[str, dict]:
    """Everything made at the stand-in was deleted, and the report's counts are what the stand-in saw."""
    assert sandbox.left_behind() == {"sessions": 0, "collections": 0, "documents": 0}
    for target in ("emulator", "sandbox"):
        for kind, counts in report["resources"][target].items():
            assert counts["left"] == [], (target, kind)
            assert counts["deleted"] + counts["alreadyGone"] == counts["created"] > 0, (target, kind, counts)
    resources = report["resources"]["sandbox"]
    seen = {"signing-sessions": "sessions", "document-collections": "collections", "documents": "documents"}
    assert {seen[kind]: n for kind, n in sandbox.created.items()} == {
        kind: counts["created"] for kind, counts in resources.items()
    }
    assert sum(sandbox.deleted.values()) == sum(c["deleted"] for c in resources.values())
    assert sandbox.refused == [], "the suite asked the sandbox for the emulator's own endpoints"
    return resources


def readme_costs() -> tuple[int, int]:
    """The sandbox's cost as the README states it: sessions with a signing helper, and without."""
    text = (REPO / "README.md").read_text()
    found = re.search(r"\*\*(\d+)\*\* signing sessions with a signing helper, \*\*(\d+)\*\* without", text)
    assert found, "the README states what a sandbox run costs"
    return int(found.group(1)), int(found.group(2))


@pytest.fixture
def helper_log(tmp_path: Path) -> Path:
    return tmp_path / "helper.jsonl"


def test_sandbox_mode_reports_both_targets_the_shape_diff_and_a_full_cleanup(tmp_path, helper_log):
    report_path = tmp_path / "contract-report.json"
    helper = [sys.executable, "-m", "tests.contract_plumbing.fake_signer", str(helper_log), "sign"]
    with StandInSandbox(CLIENT_ID, CLIENT_SECRET, ADDED_FIELDS) as sandbox:
        env = sandbox_env(sandbox, report_path, SIGNICAT_SIGNING_HELPER=" ".join(helper))
        done = run_suite(env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        report = json.loads(report_path.read_text())
        resources = assert_cleaned_up(report, sandbox)
        signing_page = f"{sandbox.backend.url}/sign?sessionId="

    assert report["targets"]["sandbox"]["apiUrl"] == f"{sandbox.url}/sign"
    assert report["targets"]["sandbox"]["tokenUrl"] == f"{sandbox.url}/auth/open/connect/token"  # the default
    emulator, standin = results(report, "emulator"), results(report, "sandbox")
    assert set(emulator) == set(standin) and len(emulator) >= 30
    assert {r["outcome"] for r in emulator.values()} == {"passed"}
    rejected = standin.pop("test_rejected_session_is_final_and_still_readable")
    assert rejected["outcome"] == "skipped"
    assert rejected["reason"] == "the signing helper cannot reject: this helper does only sign"
    assert {r["outcome"] for r in standin.values()} == {"passed"}
    assert report["summary"]["sandbox"] == {"passed": len(emulator) - 1, "skipped": 1}

    assert report["shapeDiff"] == {
        "sandboxOnly": EXPECTED_SANDBOX_ONLY,
        "typeDifferences": [],
        "emulatorOnly": [],
        "endpointsOnlyAtSandbox": [],
        "endpointsOnlyAtEmulator": [],
    }
    assert MARKER not in report_path.read_text(), "a value the sandbox sent is in the report"

    requests = [json.loads(line) for line in helper_log.read_text().splitlines()]
    assert sorted(r["action"] for r in requests) == ["reject"] + ["sign"] * 5
    for request in requests:
        assert set(request) == {"action", "sessionId", "signatureUrl", "signer", "language"}
        assert request["signatureUrl"].startswith(signing_page)
    with_helper, _ = readme_costs()
    assert resources["sessions"]["created"] == with_helper
    summary = f"sandbox: {len(emulator) - 1} passed, 1 skipped; sessions {with_helper} created / {with_helper} deleted"
    assert summary in done.stdout and f"report: {report_path}" in done.stdout


def test_without_a_signing_helper_signing_is_skipped_and_failures_still_clean_up(tmp_path):
    report_path = tmp_path / "contract-report.json"
    wrong_algorithm = Rule(
        "POST", "/sign/documents", 2, lambda body: body["documentHash"].update(hashAlgorithm="SHA-256")
    )
    with StandInSandbox(CLIENT_ID, CLIENT_SECRET, [wrong_algorithm]) as sandbox:
        token_url = f"{sandbox.url}/auth/open/connect/token"
        done = run_suite(sandbox_env(sandbox, report_path, SIGNICAT_TOKEN_URL=token_url))
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
        report = json.loads(report_path.read_text())
        resources = assert_cleaned_up(report, sandbox)

    emulator, standin = results(report, "emulator"), results(report, "sandbox")
    assert {r["outcome"] for r in emulator.values()} == {"passed"}
    for name in SIGNING_TESTS:
        assert standin[name]["outcome"] == "skipped" and standin[name]["reason"] == NO_HELPER, name
    for name in HASH_TESTS:
        assert standin[name]["outcome"] == "failed", name
        assert "SHA-256" in standin[name]["message"]
    others = {name: r["outcome"] for name, r in standin.items() if name not in SIGNING_TESTS | HASH_TESTS}
    assert set(others.values()) == {"passed"}
    assert report["targets"]["sandbox"]["signing"] == "none: signing tests skipped"
    assert NO_HELPER in done.stdout  # the reason is printed, not only reported
    _, without_helper = readme_costs()
    assert resources["sessions"]["created"] == without_helper


def test_what_the_cleanup_cannot_delete_is_an_error_naming_it(tmp_path):
    report_path = tmp_path / "contract-report.json"
    behaviour = "test_collection_holds_its_documents_in_order"
    with StandInSandbox(CLIENT_ID, CLIENT_SECRET, []) as sandbox:
        sandbox.refuse("DELETE", r"/sign/document-collections/[^/]+")
        done = run_suite(sandbox_env(sandbox, report_path), "-k", behaviour)
        left = sandbox.left_behind()
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads(report_path.read_text())
    (collection_id,) = report["resources"]["sandbox"]["collections"]["left"]
    result = results(report, "sandbox")[behaviour]
    assert result["outcome"] == "error"
    assert result["message"].startswith("teardown: ") and collection_id in result["message"]
    assert results(report, "emulator")[behaviour]["outcome"] == "passed"
    assert left == {"sessions": 0, "collections": 1, "documents": 0}


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"SIGNICAT_SANDBOX": "1"},
            "SIGNICAT_SANDBOX=1 needs SIGNICAT_CLIENT_ID, SIGNICAT_CLIENT_SECRET, SIGNICAT_API_URL",
        ),
        ({"SIGNICAT_SANDBOX": "maybe"}, "SIGNICAT_SANDBOX must be 1 or 0, got 'maybe'"),
    ],
)
def test_sandbox_mode_without_its_settings_stops_before_any_test(env, said):
    done = run_suite(env)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert f"contract suite: {said}" in done.stderr
