"""The signing API as esign uses it: one method per call, errors as one line (the API's problem `detail`)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from esign.targets import Target

FINAL_STATES = frozenset({"COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED"})
# Inline documents travel base64 in one request (4/3 of their size) that must stay under Lambda's 6 MB payload:
# past this many bytes in all, a document goes through an upload URL instead.
INLINE_BUDGET = 4 * 1024 * 1024
TIMEOUT = 60
CHUNK = 256 * 1024


class ApiError(RuntimeError):
    """The API answered a problem, or could not be reached; str() is the one line to show."""


@dataclass(frozen=True)
class Document:
    path: Path
    content_type: str

    @classmethod
    def of(cls, path: Path) -> Document:
        with path.open("rb") as file:
            head = file.read(5)
        if head == b"%PDF-":
            return cls(path, "application/pdf")
        if path.suffix.lower() == ".txt":
            return cls(path, "text/plain")
        raise ApiError(f"{path}: neither a PDF (%PDF-) nor a .txt file")


class Client:
    def __init__(self, target: Target, session: requests.Session | None = None) -> None:
        self.target = target
        self.http = session or requests.Session()

    # -- the API's routes ------------------------------------------------------------------------

    def start(self, request: dict[str, Any], documents: list[Document]) -> dict[str, Any]:
        """POST /signings with the documents inline while they fit, through upload URLs after that."""
        body = {**request, "documents": self._documents(documents)}
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # a retried request then starts nothing twice
        return self._call("POST", "/signings", json=body, headers=headers)

    def get(self, signing_id: str) -> dict[str, Any]:
        return self._call("GET", f"/signings/{_segment(signing_id)}")

    def cancel(self, signing_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/signings/{_segment(signing_id)}")

    def list(self, state: str | None = None, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        params = {
            "limit": str(limit),
            **({"state": state} if state else {}),
            **({"cursor": cursor} if cursor else {}),
        }
        return self._call("GET", "/signings", params=params)

    # -- documents -------------------------------------------------------------------------------

    def _documents(self, documents: list[Document]) -> list[dict[str, Any]]:
        described, inline = [], 0
        for document in documents:
            size = document.path.stat().st_size
            entry = {"filename": document.path.name, "contentType": document.content_type}
            if inline + size <= INLINE_BUDGET:
                inline += size
                entry["content"] = base64.b64encode(document.path.read_bytes()).decode()
            else:
                entry["uploadId"] = self._upload(document)
            described.append(entry)
        return described

    def _upload(self, document: Document) -> str:
        """POST /uploads, then PUT the file to the presigned URL it answers."""
        upload = self._call(
            "POST", "/uploads", json={"filename": document.path.name, "contentType": document.content_type}
        )
        if document.path.stat().st_size > upload["maxBytes"]:
            raise ApiError(f"{document.path}: larger than the {upload['maxBytes']} bytes the API takes")
        with document.path.open("rb") as file:
            answer = self._send(upload["method"], upload["uploadUrl"], data=file, headers=upload["headers"])
        if answer.status_code >= 300:
            raise ApiError(f"uploading {document.path} failed: HTTP {answer.status_code}")
        return upload["uploadId"]

    def download(self, signing: dict[str, Any], into: Path, progress: Callable[[int], None]) -> str:
        """The signing's PAdES into `into`, its sha256 checked against the record; answers the sha256."""
        document = signed_document(signing)
        digest = hashlib.sha256()
        partial = into.with_name(into.name + ".part")
        with self._send("GET", document["downloadUrl"], stream=True) as answer:
            if answer.status_code != 200:
                raise ApiError(f"downloading the signed document failed: HTTP {answer.status_code}")
            with partial.open("wb") as file:
                for chunk in _chunks(answer):
                    digest.update(chunk)
                    file.write(chunk)
                    progress(len(chunk))
        if digest.hexdigest() != document["sha256"]:
            partial.unlink()
            raise ApiError(
                f"the download's sha256 {digest.hexdigest()} is not the record's {document['sha256']}: not saved"
            )
        partial.replace(into)
        return digest.hexdigest()

    def trust_root(self) -> bytes:
        """The offline stack's trust root: the emulator's CA."""
        if not self.target.emulator_url:
            raise ApiError("give --trust PEM: only the offline stack has a default trust root")
        answer = self._send("GET", f"{self.target.emulator_url}/_emulator/ca.pem")
        if answer.status_code != 200:
            raise ApiError(f"the emulator's CA could not be read: HTTP {answer.status_code}")
        return answer.content

    # -- HTTP ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        answer = self._send(method, self.target.api_url + path, auth=self.target.auth, **options)
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400 or not isinstance(body, dict):
            detail = body.get("detail") if isinstance(body, dict) else None
            code = body.get("code") if isinstance(body, dict) else None
            status = f"{answer.status_code}{' ' + code if code else ''}"
            raise ApiError(f"{detail or answer.reason or 'the API answered no JSON'} ({status})")
        return body

    def _send(self, method: str, url: str, **options: Any) -> requests.Response:
        try:
            return self.http.request(method, url, timeout=TIMEOUT, **options)
        except requests.RequestException as error:
            raise ApiError(f"cannot reach {url.split('?')[0]}: {type(error).__name__}") from None


def signed_document(signing: dict[str, Any]) -> dict[str, Any]:
    """Where the signing's PAdES is, or an error saying why there is none."""
    if not signing.get("signedDocument"):
        raise ApiError(f"signing {signing['signingId']} is {signing['state']}: no signed document")
    return signing["signedDocument"]


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _chunks(answer: requests.Response) -> Iterator[bytes]:
    yield from answer.iter_content(CHUNK)
