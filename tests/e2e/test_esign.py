"""`esign`, the installed console script, as real processes against the running offline stack."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from local.pdf import sample_pdf
from local.rie import REPO

ESIGN = REPO / ".venv" / "bin" / "esign"


def esign(offline, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    stack_file = Path(offline.stack.out_dir) / "stack.json"
    return subprocess.run(
        [str(ESIGN), "--stack", str(stack_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def test_start_sign_watch_download_and_verify_every_signers_signature(offline, tmp_path):
    document = tmp_path / "lease.pdf"
    document.write_bytes(sample_pdf("Lease", ["Signed with esign."]))

    started = esign(
        offline,
        "start",
        str(document),
        "--title",
        "Lease",
        "--signer",
        "ada@example.com",
        "--signer",
        "bob@example.com,+4791234567",
        "--order",
        "sequential",
    )
    assert started.returncode == 0, started.stderr
    signing_id = re.search(r"^signing (\S+) AWAITING_SIGNATURE$", started.stdout, re.MULTILINE).group(1)
    for session in offline.get(signing_id)["sessions"]:
        offline.act(session["sessionId"])

    watched = esign(offline, "status", signing_id, "--watch", "--interval", "0.2", "--timeout", "60")
    saved = tmp_path / "signed.pdf"
    downloaded = esign(offline, "download", signing_id, "-o", str(saved))
    verified = esign(offline, "verify", str(saved), "--signers", "2")
    listed = esign(offline, "list", "--state", "COMPLETED")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "COMPLETED" in watched.stdout
    assert downloaded.returncode == 0, downloaded.stderr
    assert offline.get(signing_id)["signedDocument"]["sha256"] in downloaded.stdout
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = [line for line in verified.stdout.splitlines() if line.startswith("Signature")]
    assert len(lines) == 2
    assert all("intact yes, trusted yes, valid yes" in line for line in lines)
    assert "VALID: 2 signature(s), the last covers the whole file" in verified.stdout
    assert listed.returncode == 0 and signing_id in listed.stdout


def test_cancel_then_status_exits_non_zero_and_an_unknown_signing_is_one_line(offline, tmp_path):
    document = tmp_path / "note.txt"
    document.write_text("A plain text note.\n")
    started = esign(offline, "start", str(document), "--title", "Note")
    signing_id = re.search(r"^signing (\S+) ", started.stdout, re.MULTILINE).group(1)

    cancelled = esign(offline, "cancel", signing_id)
    status = esign(offline, "status", signing_id)
    unknown = esign(offline, "status", "no-such-signing")

    assert cancelled.returncode == 0 and f"signing {signing_id} CANCELLED" in cancelled.stdout
    assert status.returncode == 3
    assert unknown.returncode == 1
    assert unknown.stderr == "Error: no signing with id no-such-signing (404 NOT_FOUND)\n"
