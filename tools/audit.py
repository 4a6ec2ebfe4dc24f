"""`make audit`: the security scanners over the template, the code and the pinned dependencies.

- cfn-lint on template.yaml (from .venv: aws-sam-cli ships it)
- checkov on template.yaml, frameworks cloudformation and serverless, skips in .checkov.yaml (from .venv-audit)
- bandit on functions/, layers/, local/ and tools/ (from .venv-audit); suppressions are inline `# nosec BXXX - reason`
- pip-audit on every pinned requirements file (from .venv-audit)

Prints what each tool found and a summary table; exits non-zero on any finding or any scanner that failed.
pip-audit needs PyPI's JSON API or OSV: when neither answers, it is reported as NOT RUN, with the reason,
and does not fail the audit on its own; the summary never counts it as clean.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess  # nosec B404 - runs the scanners, with argument lists
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
AUDIT_BIN = REPO / ".venv-audit" / "bin"
TEMPLATE = "template.yaml"
REQUIREMENTS = ("requirements-dev.txt", "layers/core/requirements.txt", "local/runtime-requirements.txt")
# Which folders bandit reads, and the checks skipped in each, with the reason.
BANDIT_TARGETS: tuple[tuple[str, tuple[str, ...], dict[str, str]], ...] = (
    ("product", ("functions", "layers"), {}),
    (
        "offline stack",
        ("local",),
        {"B101": "the offline stack asserts its own start order (type narrowing); it is never deployed"},
    ),
    ("tools", ("tools",), {}),
)
TIMEOUT = 600
UNREACHABLE = re.compile(
    r"could not be audited|ConnectionError|NameResolutionError|Max retries exceeded|Temporary failure in name resolution",
    re.IGNORECASE,
)
# bandit reads every word after `# nosec` as a test name; the reason words are not, and that is fine.
BANDIT_NOISE = re.compile(r"Test in comment: .* is not a test name or id, ignoring")

CLEAN, FINDINGS, NOT_RUN, FAILED = "clean", "FINDINGS", "NOT RUN", "FAILED"


@dataclasses.dataclass
class Result:
    tool: str
    status: str
    findings: int | None
    note: str = ""


def run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # nosec B603 - our own scanners, argument lists, no shell
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **env},
        check=False,
    )


def missing(executable: Path, tool: str) -> Result | None:
    if executable.exists():
        return None
    hint = "make venv" if executable.parent == VENV_BIN else "make .venv-audit/.installed"
    shown = executable.relative_to(REPO) if executable.is_relative_to(REPO) else executable
    return Result(tool, FAILED, None, f"{shown} not found: run `{hint}`")


def show(title: str, lines: list[str]) -> None:
    print(f"\n== {title}")
    for line in lines or ["(nothing found)"]:
        print(f"   {line}")


# --- the scanners ----------------------------------------------------------------------------------------


def cfn_lint() -> Result:
    executable = VENV_BIN / "cfn-lint"
    if problem := missing(executable, "cfn-lint"):
        return problem
    done = run([str(executable), "--format", "parseable", TEMPLATE])
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    show("cfn-lint template.yaml", lines)
    if done.returncode == 0:
        return Result("cfn-lint", CLEAN, 0)
    if not lines:
        return Result("cfn-lint", FAILED, None, _last_line(done.stderr))
    return Result("cfn-lint", FINDINGS, len(lines))


def checkov() -> Result:
    executable = AUDIT_BIN / "checkov"
    if problem := missing(executable, "checkov"):
        return problem
    command = [str(executable), "--config-file", ".checkov.yaml", "-f", TEMPLATE]
    command += ["--framework", "cloudformation", "serverless", "-o", "json"]
    # BC_SKIP_MAPPING: no call to the vendor's platform for guideline links (this machine is offline).
    done = run(command, BC_SKIP_MAPPING="TRUE")
    try:
        reports = json.loads(done.stdout)
    except ValueError:
        return Result("checkov", FAILED, None, _last_line(done.stderr or done.stdout))
    reports = reports if isinstance(reports, list) else [reports]
    failed, skipped, passed, parsing = [], 0, 0, 0
    for report in reports:
        if "results" not in report:  # a framework with nothing to scan answers a bare summary
            continue
        summary = report.get("summary", {})
        passed += summary.get("passed", 0)
        parsing += summary.get("parsing_errors", 0)
        skipped += len(report["results"].get("skipped_checks", []))
        for check in report["results"].get("failed_checks", []):
            lines = check.get("file_line_range") or ["?", "?"]
            failed.append(
                f"{check['check_id']} {check['resource']} (lines {lines[0]}-{lines[1]}): {check['check_name']}"
            )
    show("checkov template.yaml (cloudformation, serverless)", failed)
    note = (
        f"{passed} passed, {skipped} skipped inline, {len(_checkov_skips())} checks skipped by .checkov.yaml"
    )
    if parsing:
        return Result("checkov", FAILED, None, f"{parsing} parsing errors")
    if failed:
        return Result("checkov", FINDINGS, len(failed), note)
    if done.returncode != 0:
        return Result("checkov", FAILED, None, _last_line(done.stderr))
    return Result("checkov", CLEAN, 0, note)


def _checkov_skips() -> list[str]:
    import yaml

    config = yaml.safe_load((REPO / ".checkov.yaml").read_text(encoding="utf-8")) or {}
    return list(config.get("skip-check") or [])


def bandit() -> Result:
    executable = AUDIT_BIN / "bandit"
    if problem := missing(executable, "bandit"):
        return problem
    findings: list[str] = []
    suppressed = 0
    for name, folders, skips in BANDIT_TARGETS:
        command = [str(executable), "-r", *folders, "-f", "json", "-q", "-x", "*/tests/*,*/__pycache__/*"]
        if skips:
            command += ["--skip", ",".join(skips)]
        done = run(command)
        try:
            report = json.loads(done.stdout)
        except ValueError:
            errors = [line for line in done.stderr.splitlines() if not BANDIT_NOISE.search(line)]
            return Result("bandit", FAILED, None, f"{name}: {_last_line(chr(10).join(errors))}")
        if report.get("errors"):
            return Result("bandit", FAILED, None, f"{name}: {report['errors'][0]}")
        suppressed += int(report.get("metrics", {}).get("_totals", {}).get("skipped_tests", 0))
        for issue in report.get("results", []):
            findings.append(
                f"{issue['test_id']} {issue['filename']}:{issue['line_number']} "
                f"[{issue['issue_severity']}/{issue['issue_confidence']}] {issue['issue_text']}"
            )
    show("bandit " + " ".join(folder for _, folders, _ in BANDIT_TARGETS for folder in folders), findings)
    skipped = "; ".join(
        f"{test} in {name}: {why}" for name, _, skips in BANDIT_TARGETS for test, why in skips.items()
    )
    note = f"{suppressed} inline # nosec; skipped {skipped}"
    return Result("bandit", FINDINGS if findings else CLEAN, len(findings), note)


def pip_audit() -> Result:
    executable = AUDIT_BIN / "pip-audit"
    if problem := missing(executable, "pip-audit"):
        return problem
    vulnerabilities: list[str] = []
    unaudited: list[str] = []
    unreachable: list[str] = []
    for requirements in REQUIREMENTS:
        audited, reason = _pip_audit_file(executable, requirements)
        if audited is None:
            unreachable.append(f"{requirements}: {reason}")
            continue
        for dependency in audited["dependencies"]:
            if dependency.get("skip_reason"):
                unaudited.append(f"{requirements}: {dependency['skip_reason']}")
            for vulnerability in dependency.get("vulns", []):
                fixed = ", ".join(vulnerability.get("fix_versions") or []) or "no fix yet"
                vulnerabilities.append(
                    f"{dependency['name']} {dependency.get('version', '?')} ({requirements}): "
                    f"{vulnerability['id']}, fixed in {fixed}"
                )
    show("pip-audit " + " ".join(REQUIREMENTS), vulnerabilities + unreachable + unaudited[:10])
    if vulnerabilities:
        note = (
            f"{len(unreachable) + len(unaudited)} files or packages not audited"
            if unreachable or unaudited
            else ""
        )
        return Result("pip-audit", FINDINGS, len(vulnerabilities), note)
    if unreachable and len(unreachable) == len(REQUIREMENTS):
        return Result(
            "pip-audit",
            NOT_RUN,
            None,
            "no vulnerability database reachable (PyPI JSON API, OSV): the dependencies are NOT audited",
        )
    if unreachable or unaudited:
        return Result(
            "pip-audit",
            NOT_RUN,
            None,
            f"partly: {len(unreachable)} files and {len(unaudited)} packages could not be audited",
        )
    return Result("pip-audit", CLEAN, 0)


def _pip_audit_file(executable: Path, requirements: str) -> tuple[dict | None, str]:
    """The audit of one requirements file, from PyPI's JSON API, else OSV; None and why if neither answers."""
    reasons = []
    for service in ("pypi", "osv"):
        command = [str(executable), "-r", requirements, "--no-deps", "--disable-pip", "-s", service]
        command += ["--progress-spinner", "off", "-f", "json", "--timeout", "15"]
        done = run(command)
        try:
            report = json.loads(done.stdout)
        except ValueError:
            reasons.append(f"{service}: {_last_line(done.stderr)}")
            continue
        skipped = [d for d in report.get("dependencies", []) if d.get("skip_reason")]
        everything_skipped = report.get("dependencies") and len(skipped) == len(report["dependencies"])
        if everything_skipped and all(UNREACHABLE.search(d["skip_reason"]) for d in skipped):
            reasons.append(f"{service}: every package 'could not be audited'")
            continue
        return report, ""
    return None, "; ".join(reasons)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


# --- the summary -----------------------------------------------------------------------------------------


def summary(results: list[Result]) -> str:
    rows = [("scanner", "status", "findings", "note")]
    rows += [(r.tool, r.status, "-" if r.findings is None else str(r.findings), r.note) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        if index == 0:
            lines.append("  ".join("-" * width for width in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def exit_code(results: list[Result]) -> int:
    """1 on any finding or failed scanner; a scanner that could not run (NOT RUN) does not fail alone."""
    return 1 if any(r.status in {FINDINGS, FAILED} for r in results) else 0


def main() -> int:
    results = [cfn_lint(), checkov(), bandit(), pip_audit()]
    print("\n" + summary(results))
    not_run = [r.tool for r in results if r.status == NOT_RUN]
    ran = [r.tool for r in results if r.status != NOT_RUN]
    verdict = "FAILED: findings or scanner errors above" if exit_code(results) else "no findings"
    print(f"\naudit: {verdict} ({', '.join(ran)})")
    if not_run:
        print(f"audit: NOT RUN, so not known to be clean: {', '.join(not_run)}")
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
