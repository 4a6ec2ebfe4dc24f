"""Figure 2: the package worker's peak memory while storing a large PAdES from Signicat into S3.

Three processes, so that only the worker's own memory is measured:
- moto server, in its own process (the stored bytes live there);
- this process serves Signicat's token endpoint and `GET /sign/documents/{id}`: a generated signed-looking
  PDF (`%PDF-`, a `/ByteRange`, filler) written in 1 MiB blocks with a Content-Length, never held whole;
- a fresh `.venv` child runs the product's code path: `SignicatClient.download_document(id)` gives the
  streaming body, `signing_core.storage.store_signed_pdf` streams it into moto S3 (multipart).

In the child the baseline is taken after the imports, the clients and one small warm-up store (so
s3transfer's lazily imported machinery and thread pools are in it); then the kernel's high-water mark
is reset (`/proc/self/clear_refs`) and the figure is VmHWM after the store minus VmRSS at the baseline.
Beside it, without budget: the same store after reading the whole body into bytes first.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import DEV_PYTHON, FAKE_AWS, REPO, BenchError, Figure, child_json, median

MIB = 1024 * 1024
BUDGET_MIB = 64
BUCKET = "bench-documents"
_BLOCK = MIB
_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Sig /ByteRange [0 1000 2000 3000] >>\nendobj\n"


def pdf_blocks(size: int) -> Iterator[bytes]:
    """`size` bytes of a signed-looking PDF, in blocks of at most 1 MiB."""
    if size < len(_HEAD) + 6:
        raise ValueError("too small for a PDF")
    filler = (b"% filler to make the document large " * (_BLOCK // 37 + 1))[:_BLOCK]
    yield _HEAD
    left = size - len(_HEAD) - 6
    while left > 0:
        chunk = filler[: min(left, _BLOCK)]
        left -= len(chunk)
        yield chunk
    yield b"%%EOF\n"


class _SignicatStub(BaseHTTPRequestHandler):
    """Token endpoint and `GET /sign/documents/<bytes>`: the document id is its size."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"access_token": "bench", "token_type": "Bearer", "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        prefix = "/sign/documents/"
        if not self.path.startswith(prefix) or not self.path[len(prefix) :].isdigit():
            self.send_error(404)
            return
        size = int(self.path[len(prefix) :])
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for block in pdf_blocks(size):
            self.wfile.write(block)


@contextlib.contextmanager
def signicat_stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SignicatStub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-signicat-stub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def moto_process() -> Iterator[str]:
    """moto server in its own process; stopped (and waited for) on exit."""
    port = _free_port()
    process = subprocess.Popen(
        [str(DEV_PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise BenchError(f"moto server exited with {process.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise BenchError("moto server did not listen within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _s3(moto_url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name=FAKE_AWS["AWS_REGION"],
        aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
    )


def measure_once(size: int, mode: str, moto_url: str, stub_url: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(REPO)),
        **FAKE_AWS,
        "AWS_ENDPOINT_URL": moto_url,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "core"), str(REPO)]),
    }
    return child_json(
        [str(DEV_PYTHON), "-m", "bench.memory", "--child", str(size), mode, stub_url, BUCKET],
        env=env,
        cwd=REPO,
        timeout=900,
        what=f"memory child ({size} bytes, {mode})",
    )


def run(small: bool = False, repetitions: int | None = None) -> list[Figure]:
    sizes_mib = (10, 50) if small else (10, 100, 300)
    reps = repetitions or (1 if small else 3)
    streamed: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes_mib}
    whole: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes_mib}
    with moto_process() as moto_url, signicat_stub() as stub_url:
        s3 = _s3(moto_url)
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": FAKE_AWS["AWS_REGION"]}
        )
        for _ in range(reps):
            for size_mib in sizes_mib:
                for mode, into in (("stream", streamed), ("whole", whole)):
                    sample = measure_once(size_mib * MIB, mode, moto_url, stub_url)
                    if sample["storedSize"] != size_mib * MIB:
                        raise BenchError(f"stored {sample['storedSize']} bytes of {size_mib * MIB}")
                    into[size_mib].append(sample)
                    s3.delete_object(Bucket=BUCKET, Key=sample["key"])
    figures = []
    for size_mib in sizes_mib:
        peak = median([s["peakOverBaselineMiB"] for s in streamed[size_mib]])
        figures.append(
            Figure(
                key=f"memory.stream.{size_mib}MiB",
                title=f"worker peak RSS over baseline, {size_mib} MiB PAdES streamed",
                value=round(peak, 1),
                unit="MiB",
                budget=BUDGET_MIB,
                op="<=",
                detail={
                    "repetitions": reps,
                    "baselineMiB": round(median([s["baselineMiB"] for s in streamed[size_mib]]), 1),
                    "seconds": round(median([s["seconds"] for s in streamed[size_mib]]), 2),
                    "hwmReset": all(s["hwmReset"] for s in streamed[size_mib]),
                },
            )
        )
    for size_mib in sizes_mib:
        peak = median([s["peakOverBaselineMiB"] for s in whole[size_mib]])
        figures.append(
            Figure(
                key=f"memory.whole.{size_mib}MiB",
                title=f"same, body read whole first (for comparison), {size_mib} MiB",
                value=round(peak, 1),
                unit="MiB",
                detail={"repetitions": reps},
            )
        )
    return figures


# --- the child ---------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchError(f"{field} not in /proc/self/status")


def _reset_high_water_mark() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_kib("VmHWM") <= _status_kib("VmRSS") + 64


def _child(size: int, mode: str, stub_url: str, bucket: str) -> dict[str, Any]:
    import gc
    import io

    from signing_core import aws, storage
    from signing_core.signicat import SignicatClient

    client = SignicatClient(f"{stub_url}/sign", f"{stub_url}/token", lambda: ("bench", "bench"))

    def store(document_size: int, key: str) -> storage.StoredDocument:
        with client.download_document(str(document_size)) as stream:
            if mode == "whole":
                body = stream.read()
                return storage.store_signed_pdf(io.BytesIO(body), bucket, key, {"bench": "whole"})
            return storage.store_signed_pdf(stream, bucket, key, {"bench": "stream"})

    aws.client("s3")
    warm = store(MIB, f"signed/warm-up-{os.getpid()}.pdf")
    aws.client("s3").delete_object(Bucket=bucket, Key=warm.key)
    gc.collect()
    baseline = _status_kib("VmRSS")
    reset = _reset_high_water_mark()
    started = time.perf_counter()
    stored = store(size, f"signed/bench-{os.getpid()}.pdf")
    seconds = time.perf_counter() - started
    peak = _status_kib("VmHWM")
    return {
        "key": stored.key,
        "storedSize": stored.size,
        "baselineMiB": baseline / 1024,
        "peakOverBaselineMiB": max(0, peak - baseline) / 1024,
        "hwmReset": reset,
        "seconds": seconds,
    }


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        print(json.dumps(_child(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])))
    else:
        for fig in run(small="--small" in sys.argv):
            print(fig.key, fig.value, fig.unit, fig.held, json.dumps(fig.detail))
