"""The README's API walkthrough runs as written, against the offline stack (`make up` in the README)."""

from __future__ import annotations

import json
import re
import subprocess

from local.rie import REPO
from tests.e2e.conftest import Offline

MARKER = "<!-- this block runs in tests/e2e/test_readme.py -->"
ESIGN_MARKER = "<!-- this block runs in tests/e2e/test_readme.py (esign) -->"


def readme_block(marker: str = MARKER) -> str:
    text = (REPO / "README.md").read_text()
    after = text[text.index(marker) :]
    return re.search(r"```bash\n(.*?)```", after, re.DOTALL).group(1)


def run_block(offline: Offline, tmp_path, marker: str = MARKER) -> subprocess.CompletedProcess:
    stack_json = tmp_path / "stack.json"
    stack_json.write_text(json.dumps(offline.info))
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block(marker)],
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "STACK": str(stack_json),
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readme_api_walkthrough_runs_against_the_offline_stack(offline: Offline, tmp_path):
    result = run_block(offline, tmp_path)

    assert result.returncode == 0, result.stderr + result.stdout
    assert offline.emulator_url in result.stdout  # the signatureUrl
    assert '"state": "COMPLETED"' in result.stdout
    assert "cancel a completed signing: 409" in result.stdout
    assert "cancelled: CANCELLED" in result.stdout


def test_readme_esign_walkthrough_runs_against_the_offline_stack(offline: Offline, tmp_path):
    result = run_block(offline, tmp_path, ESIGN_MARKER)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "AWAITING_SIGNATURE" in result.stdout and offline.emulator_url in result.stdout
    assert "COMPLETED" in result.stdout
    assert "sha256" in result.stdout and "as recorded" in result.stdout
    assert "VALID: 2 signature(s), the last covers the whole file" in result.stdout
