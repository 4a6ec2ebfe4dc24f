"""`make audit` (tools/audit.py): how scanner outcomes become the summary and the exit status."""

from __future__ import annotations

import json
import subprocess

import pytest

from tools import audit

NOT_AUDITED = {
    "dependencies": [
        {
            "name": "requests",
            "skip_reason": "Dependency not found on PyPI and could not be audited: requests (2.34.2)",
        }
    ],
    "fixes": [],
}
VULNERABLE = {
    "dependencies": [
        {"name": "urllib3", "version": "2.8.0", "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["2.8.1"]}]},
        {"name": "requests", "version": "2.34.2", "vulns": []},
    ],
    "fixes": [],
}


def fake_pip_audit(monkeypatch, answers: dict[str, subprocess.CompletedProcess]) -> list[str]:
    """pip-audit answering per vulnerability service ("pypi", "osv"); returns the services asked."""
    asked = []

    def run(command: list[str], **env: str) -> subprocess.CompletedProcess:
        service = command[command.index("-s") + 1]
        asked.append(service)
        return answers[service]

    monkeypatch.setattr(audit, "run", run)
    return asked


def answer(stdout: str = "", stderr: str = "", code: int = 0) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([], code, stdout, stderr)


OSV_UNREACHABLE = answer(
    stderr="requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443)", code=1
)


@pytest.fixture
def pip_audit_installed(monkeypatch, tmp_path):
    executable = tmp_path / "pip-audit"
    executable.write_text("")
    monkeypatch.setattr(audit, "AUDIT_BIN", tmp_path)


def test_pip_audit_reaching_no_database_is_not_run_and_never_clean(monkeypatch, pip_audit_installed):
    asked = fake_pip_audit(monkeypatch, {"pypi": answer(json.dumps(NOT_AUDITED)), "osv": OSV_UNREACHABLE})

    result = audit.pip_audit()

    assert result.status == audit.NOT_RUN
    assert result.findings is None
    assert "NOT audited" in result.note
    assert asked == ["pypi", "osv"] * len(audit.REQUIREMENTS)  # OSV is tried when PyPI's API cannot answer


def test_pip_audit_falls_back_to_osv_and_reports_each_vulnerability(monkeypatch, pip_audit_installed, capsys):
    fake_pip_audit(
        monkeypatch, {"pypi": answer(json.dumps(NOT_AUDITED)), "osv": answer(json.dumps(VULNERABLE))}
    )

    result = audit.pip_audit()

    assert result.status == audit.FINDINGS
    assert result.findings == len(audit.REQUIREMENTS)  # one vulnerable package in each file
    assert "urllib3 2.8.0" in capsys.readouterr().out


def test_pip_audit_with_every_package_audited_and_none_vulnerable_is_clean(monkeypatch, pip_audit_installed):
    clean = {"dependencies": [{"name": "requests", "version": "2.34.2", "vulns": []}], "fixes": []}
    fake_pip_audit(monkeypatch, {"pypi": answer(json.dumps(clean)), "osv": OSV_UNREACHABLE})

    assert audit.pip_audit().status == audit.CLEAN


def test_audit_fails_on_a_finding_or_a_failed_scanner_but_not_on_one_that_could_not_run():
    clean = audit.Result("cfn-lint", audit.CLEAN, 0)
    not_run = audit.Result("pip-audit", audit.NOT_RUN, None, "offline")

    assert audit.exit_code([clean, not_run]) == 0
    assert audit.exit_code([clean, not_run, audit.Result("bandit", audit.FINDINGS, 2)]) == 1
    assert audit.exit_code([clean, audit.Result("checkov", audit.FAILED, None, "no output")]) == 1


def test_a_missing_scanner_fails_the_audit_with_the_make_target_to_run(monkeypatch, tmp_path):
    monkeypatch.setattr(audit, "AUDIT_BIN", tmp_path)

    result = audit.bandit()

    assert result.status == audit.FAILED
    assert "make .venv-audit/.installed" in result.note


def test_summary_table_shows_each_scanner_status_findings_and_note():
    table = audit.summary(
        [
            audit.Result("bandit", audit.CLEAN, 0, "3 inline # nosec"),
            audit.Result("pip-audit", audit.NOT_RUN, None, "offline"),
        ]
    )

    lines = table.splitlines()
    assert lines[0].split() == ["scanner", "status", "findings", "note"]
    assert lines[2].split()[:3] == ["bandit", "clean", "0"]
    assert lines[3].split()[:3] == ["pip-audit", "NOT", "RUN"]
    assert lines[3].rstrip().endswith("offline")


def test_checkov_skips_in_the_config_each_carry_a_reason():
    text = (audit.REPO / ".checkov.yaml").read_text()
    lines = text.splitlines()

    skips = audit._checkov_skips()
    assert skips
    for check in skips:
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        assert lines[index - 1].strip().startswith("#"), f"{check} has no reason above it"
