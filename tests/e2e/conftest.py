"""The offline stack with real processes: moto server, the Sign API v2 emulator, every function under the
Lambda runtime emulator, the HTTP gateway and the event sources. One stack per test module.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.emulator.config import EmulatorConfig, Faults
from local.pdf import sample_pdf
from local.rie import BUILD_DIR, REPO, RUNTIME_PYTHON
from local.stack import LocalStack

pytestmark = pytest.mark.e2e
EVENTS = REPO / "events"
FINAL_STATES = {"COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"}
_STACK_NUMBERS = itertools.count(1)


def require_build() -> None:
    if not BUILD_DIR.is_dir():
        pytest.fail(f"{BUILD_DIR} is missing: run `make build` (sam build) before the e2e suite")
    if not RUNTIME_PYTHON.exists():
        pytest.fail(f"{RUNTIME_PYTHON} is missing: run `make runtime` before the e2e suite")


def processes_of(aws_endpoint_url: str) -> list[int]:
    """Pids of the runtime emulator processes (and runtimes) started for the stack using this moto URL."""
    marker = f"AWS_ENDPOINT_URL={aws_endpoint_url}\0".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes() + b"\0":
                pids.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile, or not ours
    return [pid for pid in pids if pid != os.getpid()]


class Offline:
    """A running stack, as a test drives it: the API over HTTP, the emulator's script controls, moto."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.info = stack.info
        self.api_url = stack.info["apiUrl"]
        self.emulator_url = stack.info["emulatorUrl"]

    def start_signing(
        self, documents: list[dict] | None = None, signers: int | list[dict] = 1, **fields: Any
    ) -> dict:
        """POST /signings: `signers` is how many anonymous e-mail signers, or the signers themselves."""
        pdf = sample_pdf("Agreement", ["Signed offline."])
        if isinstance(signers, int):
            signers = [{"email": f"signer{index}@example.com"} for index in range(signers)]
        request = {
            "title": "Agreement",
            "documents": documents or [{"filename": "a.pdf", "content": base64.b64encode(pdf).decode()}],
            "signers": signers,
            **fields,
        }
        answer = requests.post(f"{self.api_url}/signings", json=request, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def get(self, signing_id: str) -> dict:
        answer = requests.get(f"{self.api_url}/signings/{signing_id}", timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def act(
        self, session_id: str, action: str = "sign", identity: dict | None = None, status: int = 200
    ) -> dict:
        """The signer signs (as `identity` {name, nationalIdentificationNumber}, else as the expected person),
        rejects or leaves, through the emulator's script endpoint; its answer must have `status`."""
        answer = requests.post(
            f"{self.emulator_url}/_emulator/signing-sessions/{session_id}/{action}", json=identity, timeout=30
        )
        assert answer.status_code == status, answer.text
        return answer.json()

    def at_signicat(self, path: str) -> requests.Response:
        """GET a Sign API v2 resource as the product's client does (its token), e.g. a session to see it gone."""
        signicat = self.stack.signicat
        assert signicat is not None
        token = requests.post(
            signicat.token_url,
            data={"grant_type": "client_credentials", "scope": "signicat-api"},
            auth=(signicat.client_id, signicat.client_secret),
            timeout=30,
        ).json()["access_token"]
        return requests.get(
            f"{signicat.api_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def stored_versions(self, signing_id: str) -> list[dict]:
        """Every version S3 holds of the signing's canonical PAdES."""
        listing = self.stack.client("s3").list_object_versions(
            Bucket=self.info["documentsBucket"], Prefix=f"signed/{signing_id}.pdf"
        )
        return listing.get("Versions", [])

    def wait_final(self, signing_id: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while (signing := self.get(signing_id))["state"] not in FINAL_STATES:
            assert time.monotonic() < deadline, f"signing still {signing['state']} after {timeout} s"
            time.sleep(0.1)
        return signing

    def download(self, signing: dict) -> bytes:
        answer = requests.get(signing["signedDocument"]["downloadUrl"], timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.content

    def faults(self, **faults: Any) -> None:
        requests.put(f"{self.emulator_url}/_emulator/faults", json=faults, timeout=30).raise_for_status()

    def deliveries(self) -> int:
        stats = requests.get(f"{self.emulator_url}/_emulator/stats", timeout=30).json()
        return stats["deliveries"]["attempted"]

    def trust_root(self) -> Any:
        from asn1crypto import pem, x509

        _, _, der = pem.unarmor(requests.get(f"{self.emulator_url}/_emulator/ca.pem", timeout=30).content)
        return x509.Certificate.load(der)


def signatures(pdf: bytes, trust_root: Any) -> list[Any]:
    """pyHanko's status of every signature in the PDF."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[trust_root])
    reader = PdfFileReader(io.BytesIO(pdf))
    return [validate_pdf_signature(signature, context) for signature in reader.embedded_signatures]


def signed_by(pdf: bytes) -> list[str]:
    """Who each signature names (its /Name), in the order they were added."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    return [str(s.sig_object.get("/Name")) for s in PdfFileReader(io.BytesIO(pdf)).embedded_signatures]


def page_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


def json_lines(path: str) -> list[dict]:
    """The JSON objects among a log's lines."""
    found = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                found.append(record)
    return found


def logged(offline: Offline, function: str, matches, timeout: float = 10) -> dict:
    """The first log line (not an EMF metric line, which carries the same ids) of the function's log that
    `matches`, waiting for it up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (
        found := [r for r in json_lines(offline.info["logs"][function]) if "_aws" not in r and matches(r)]
    ):
        assert time.monotonic() < deadline, f"no such line in the {function} log"
        time.sleep(0.2)
    return found[0]


def event_reader(offline: Offline, name: str):
    """EventBridge (moto server) routes the product's events to a queue `name`; the reader answers every
    event seen so far."""
    sqs, events = offline.stack.client("sqs"), offline.stack.client("events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["esign.signing"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    seen: list[dict] = []

    def read() -> list[dict]:
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    return read


def sample_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def denials(stack: LocalStack) -> list[str]:
    """Every request IAM refused on the stack's AWS so far, as one line each."""
    assert stack.moto is not None and stack.moto.access_control is not None
    return [
        f"{d.caller} may not {d.action} on {d.resource} {d.reason}" for d in stack.moto.access_control.denials
    ]


@contextlib.contextmanager
def running(stack: LocalStack) -> Iterator[Offline]:
    """The stack started, for a test module; afterwards not one of its runtime emulator processes is left, and
    IAM refused nothing the product asked for (every function runs with its own role, as on AWS)."""
    stack.start()
    endpoint = stack.info["awsEndpointUrl"]
    assert processes_of(endpoint), "the check below would see no process at all"
    try:
        yield Offline(stack)
        refused = denials(stack)
    finally:
        stack.stop()
    assert processes_of(endpoint) == [], "runtime emulator processes outlived the stack"
    assert refused == [], "IAM refused the product:\n" + "\n".join(refused)


def e2e_stack(tmp_path_factory: pytest.TempPathFactory, **options: Any) -> LocalStack:
    # environ={}: the emulator, whatever SIGNICAT_* the shell holds. moto keeps resources per process, not
    # per server: a prefix of its own keeps this stack's resources apart from earlier stacks' in this run.
    require_build()
    options = {
        "prefix": f"e2e{next(_STACK_NUMBERS)}",
        "emulator_config": EmulatorConfig(packaging_delay=0.05),
    } | options
    return LocalStack(out_dir=tmp_path_factory.mktemp("stack"), environ={}, **options)


def offline_stack(
    tmp_path_factory: pytest.TempPathFactory, **emulator: Any
) -> contextlib.AbstractContextManager[Offline]:
    """A running stack whose emulator is configured by `emulator` (EmulatorConfig fields)."""
    config = EmulatorConfig(**{"packaging_delay": 0.05, **emulator})
    return running(e2e_stack(tmp_path_factory, emulator_config=config))


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """One stack for the module."""
    with running(e2e_stack(tmp_path_factory)) as started:
        yield started


@pytest.fixture
def faults(offline: Offline) -> Iterator[Offline]:
    """The emulator with faults a test sets; all are off again afterwards."""
    yield offline
    offline.faults(**Faults().as_dict())
