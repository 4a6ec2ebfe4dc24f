"""The story of one signing, offline: API → signer → webhook → SQS → worker → PAdES in S3 → a validated file.

    python -m local.demo [--interactive] [--out-dir out] [--timeout 60] [--faults '{"packaging_failure_rate": 1}']

Exits 0 when the signed PAdES is downloaded and valid, 1 naming the stage that failed, 130 when interrupted.
With SIGNICAT_API_URL set the stack talks to that Signicat: a person signs, and trust is what pyHanko says.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import faulthandler
import hashlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import requests

from local.pdf import sample_pdf
from local.rie import REPO
from local.stack import LocalStack
from local.up import interrupt, signals_ignored

FINAL_STATES = {"COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"}
POLL_SECONDS = 0.1
HTTP_TIMEOUT = 30
# The emulator's signer is named by an identity number, so its page asks who signs and refuses anyone else
# (Signicat's `validations`). A real Signicat gets no number: the person signing is whoever is at hand.
DEMO_SIGNER = {"email": "tenant@example.com"}
DEMO_NATIONAL_ID = "01017012345"


class DemoFailed(Exception):
    """A stage of the story did not go as it should."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


class Progress:
    """One line per stage, with the time since the demo began; remembers how long each stage took."""

    def __init__(self, out: TextIO = sys.stdout, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._clock = clock
        self._began = clock()
        self.durations: dict[str, float] = {}

    def say(self, mark: str, message: str) -> None:
        print(f"[{self._clock() - self._began:5.1f}s] {mark} {message}", file=self._out, flush=True)

    def detail(self, message: str) -> None:
        print(f"          {message}", file=self._out, flush=True)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage; any error in it becomes a DemoFailed naming the stage."""
        started = self._clock()
        try:
            yield
        except DemoFailed:
            raise
        except (requests.RequestException, OSError, ValueError, RuntimeError) as error:
            raise DemoFailed(name, f"{type(error).__name__}: {error}") from error
        finally:
            self.durations[name] = self._clock() - started


@dataclasses.dataclass(frozen=True)
class SignatureReport:
    field: str
    name: str  # who signed, as the signature names them (/Name)
    signer: str  # the signing certificate's subject
    signed_at: str
    intact: bool
    valid: bool
    trusted: bool
    summary: str


# -- the stages, each a plain function -----------------------------------------------------------


def start_signing(api_url: str, pdf: bytes, signer: dict[str, str]) -> dict[str, Any]:
    request = {
        "title": "Rental agreement (offline demo)",
        "externalReference": f"demo-{int(time.time())}",
        "documents": [
            {
                "filename": "rental-agreement.pdf",
                "contentType": "application/pdf",
                "content": base64.b64encode(pdf).decode(),
            }
        ],
        "signers": [signer],
    }
    answer = requests.post(f"{api_url}/signings", json=request, timeout=HTTP_TIMEOUT)
    if answer.status_code != 201:
        raise DemoFailed("API", f"POST /signings answered {answer.status_code}: {answer.text[:500]}")
    return answer.json()


def sign_with_emulator(emulator_url: str, session_id: str) -> None:
    answer = requests.post(
        f"{emulator_url}/_emulator/signing-sessions/{session_id}/sign", timeout=HTTP_TIMEOUT
    )
    if answer.status_code != 200:
        raise DemoFailed("signing", f"the emulator answered {answer.status_code}: {answer.text[:500]}")


def get_signing(api_url: str, signing_id: str) -> dict[str, Any]:
    answer = requests.get(f"{api_url}/signings/{signing_id}", timeout=HTTP_TIMEOUT)
    answer.raise_for_status()
    return answer.json()


def wait_for_signer(api_url: str, signing: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Until a person acts on the signer's page: the signing or one of its sessions changes state."""
    before = [session["state"] for session in signing["sessions"]]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = get_signing(api_url, signing["signingId"])
        if current["state"] != signing["state"] or [s["state"] for s in current["sessions"]] != before:
            return current
        time.sleep(1)
    raise DemoFailed("signing", f"nobody signed within {timeout:.0f} s")


def wait_until_final(api_url: str, signing_id: str, timeout: float, logs: str) -> dict[str, Any]:
    """Until the worker has stored the PAdES (COMPLETED); another final state or the timeout fails."""
    deadline = time.monotonic() + timeout
    signing: dict[str, Any] = {}
    while time.monotonic() < deadline:
        signing = get_signing(api_url, signing_id)
        if signing["state"] == "COMPLETED":
            return signing
        if signing["state"] in FINAL_STATES:
            failure = signing.get("failure") or {}
            reason = f"{failure.get('code', '?')}: {failure.get('detail', 'no detail')}"
            raise DemoFailed(
                "webhook → stored", f"the signing ended {signing['state']} ({reason}); see {logs}"
            )
        time.sleep(POLL_SECONDS)
    raise DemoFailed(
        "webhook → stored",
        f"the signing is still {signing.get('state', 'unknown')} after {timeout:.0f} s: the webhook, the queue "
        f"or the package worker did not finish; see {logs}",
    )


def download(document: dict[str, Any], path: Path) -> bytes:
    answer = requests.get(document["downloadUrl"], timeout=HTTP_TIMEOUT)
    if answer.status_code != 200:
        raise DemoFailed("download", f"the presigned URL answered {answer.status_code}: {answer.text[:300]}")
    body = answer.content
    digest = hashlib.sha256(body).hexdigest()
    if digest != document["sha256"] or len(body) != document["size"]:
        raise DemoFailed(
            "download",
            f"got {len(body)} bytes with sha256 {digest}, the API says {document['size']} bytes, {document['sha256']}",
        )
    path.write_bytes(body)
    return body


def trust_root(emulator_url: str) -> Any:
    from asn1crypto import pem, x509

    answer = requests.get(f"{emulator_url}/_emulator/ca.pem", timeout=HTTP_TIMEOUT)
    answer.raise_for_status()
    _, _, der = pem.unarmor(answer.content)
    return x509.Certificate.load(der)


def validate(pdf: bytes, root: Any = None) -> list[SignatureReport]:
    """Every embedded signature, validated with pyHanko (against `root` only, when given)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[root]) if root is not None else ValidationContext()
    signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    if not signatures:
        raise DemoFailed("validation", "the document holds no signature")
    reports = []
    for signature in signatures:
        status = validate_pdf_signature(signature, context)
        when = status.signer_reported_dt
        reports.append(
            SignatureReport(
                field=signature.field_name,
                name=str(signature.sig_object.get("/Name", "not named")),
                signer=status.signing_cert.subject.human_friendly,
                signed_at=when.strftime("%Y-%m-%d %H:%M:%S %Z") if when else "not reported",
                intact=status.intact,
                valid=status.valid,
                trusted=status.trusted,
                summary=status.summary(),
            )
        )
    return reports


# -- the story -----------------------------------------------------------------------------------


def run(args: argparse.Namespace, progress: Progress) -> int:
    """Start the stack, tell the story, stop everything (also on failure and Ctrl-C)."""
    out_dir = Path(args.out_dir)
    logs = str(out_dir / "logs" / "*.log")
    stack = LocalStack(out_dir=out_dir)
    try:
        with progress.stage("stack"):
            stack.start()
        info = stack.info
        emulator_url = info.get("emulatorUrl")
        signicat = "emulator" if emulator_url else f"Signicat at {stack.signicat.api_url}"  # type: ignore[union-attr]
        progress.say(
            "✔",
            f"stack ready (moto, {signicat}, {len(stack.functions)} functions under the Lambda runtime emulator)",
        )
        if emulator_url and args.faults:
            requests.put(
                f"{emulator_url}/_emulator/faults", json=args.faults, timeout=HTTP_TIMEOUT
            ).raise_for_status()
            progress.detail(f"emulator faults: {json.dumps(args.faults)}")
        return _story(args, progress, info, emulator_url, logs)
    finally:
        with signals_ignored():
            stack.stop()


def _story(
    args: argparse.Namespace, progress: Progress, info: dict[str, Any], emulator_url: str | None, logs: str
) -> int:
    api_url = info["apiUrl"]
    signer = (
        {**DEMO_SIGNER, "nationalIdentificationNumber": DEMO_NATIONAL_ID} if emulator_url else DEMO_SIGNER
    )
    with progress.stage("API"):
        pdf = sample_pdf("Rental agreement", ["Between X and Y.", "Signed with the Signicat Sign API v2."])
        signing = start_signing(api_url, pdf, signer)
    signing_id, session = signing["signingId"], signing["sessions"][0]
    progress.say("✔", f"signing started: POST /signings → 201 ({len(pdf)} byte sample PDF)")
    progress.detail(f"signingId     {signing_id}")
    progress.detail(f"signatureUrl  {session['signatureUrl']}")

    interactive = args.interactive or not emulator_url
    with progress.stage("signing"):
        if interactive:
            if emulator_url:
                progress.detail(
                    f"identify as the signer: any full name, national identity number {DEMO_NATIONAL_ID}"
                )
            progress.say("…", "open the signatureUrl in a browser and click Sign; waiting")
            wait_for_signer(api_url, signing, args.signer_timeout)
            progress.say("✔", "the signer acted")
        else:
            sign_with_emulator(emulator_url, session["sessionId"])
            progress.say("✔", "signed by the emulator's scripted signer")

    with progress.stage("webhook → stored"):
        signing = wait_until_final(api_url, signing_id, args.timeout, logs)
        document = signing["signedDocument"]
    progress.say(
        "✔", f"webhook → SQS → worker: COMPLETED, stored in s3://{document['bucket']}/{document['key']}"
    )

    path = Path(args.out_dir) / f"{signing_id}.pdf"
    with progress.stage("download"):
        pdf = download(document, path)
    progress.say("✔", f"downloaded {path} through the presigned URL (sha256 matches)")

    with progress.stage("validation"):
        reports = validate(pdf, trust_root(emulator_url) if emulator_url else None)
    _check(reports, trust_required=bool(emulator_url))
    against = "the emulator's CA" if emulator_url else "pyHanko's default trust"
    progress.say("✔", f"PAdES validated against {against}")
    _print_summary(progress, path, document, reports)
    return 0


def _check(reports: list[SignatureReport], trust_required: bool) -> None:
    for report in reports:
        if not (report.intact and report.valid):
            raise DemoFailed("validation", f"{report.field} is not intact and valid: {report.summary}")
        if trust_required and not report.trusted:
            raise DemoFailed(
                "validation", f"{report.field} is not trusted by the emulator's CA: {report.summary}"
            )


def _print_summary(
    progress: Progress, path: Path, document: dict[str, Any], reports: list[SignatureReport]
) -> None:
    lines = [
        "",
        "Signed document",
        f"  file        {path}",
        f"  s3          s3://{document['bucket']}/{document['key']}",
        f"  sha256      {document['sha256']}",
        f"  size        {document['size']} bytes",
    ]
    for report in reports:
        integrity = ", ".join(
            word if ok else f"NOT {word}"
            for word, ok in (("intact", report.intact), ("valid", report.valid), ("trusted", report.trusted))
        )
        lines += [
            f"Signature {report.field}",
            f"  signed by   {report.name}",
            f"  certificate {report.signer}",
            f"  signed at   {report.signed_at}",
            f"  integrity   {integrity}",
            f"  pyHanko     {report.summary}",
        ]
    lines.append("Stages")
    lines += [f"  {name:<17} {seconds:6.2f} s" for name, seconds in progress.durations.items()]
    print("\n".join(lines), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactive", action="store_true", help="wait for a person to click Sign")
    parser.add_argument(
        "--out-dir", default=str(REPO / "out"), help="stack.json, logs and the PDF (default out/)"
    )
    parser.add_argument(
        "--timeout", type=float, default=60, help="seconds from signed to stored (default 60)"
    )
    parser.add_argument(
        "--signer-timeout", type=float, default=900, help="seconds to wait for a person (default 900)"
    )
    parser.add_argument("--faults", type=json.loads, default=None, help="emulator faults, a JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Progress()
    signal.signal(signal.SIGTERM, interrupt)
    # Ctrl-C stops the demo even when it was started with SIGINT ignored (a shell's background job, some CI
    # runners): Python then leaves SIGINT ignored instead of raising KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` shows where a stop is stuck
    try:
        return run(args, progress)
    except DemoFailed as failure:
        progress.say("✘", f"{failure.stage} failed: {failure.reason}")
        return 1
    except KeyboardInterrupt:
        progress.say("✘", "interrupted; everything started has been stopped")
        return 130
    except Exception as error:  # the stack could not start (build missing, runtime missing, ...)
        progress.say("✘", f"{type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
