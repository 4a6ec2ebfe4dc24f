"""What a PDF stream is, seen as it passes by: its sha256, its size, and whether it is a signed PDF.

Stdlib only; storage.py wraps the streams it moves in and out of S3 with it, never holding a document whole.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

PDF_MAGIC = b"%PDF-"
SIGNATURE_MARKER = b"/ByteRange"


class NotASignedPdf(ValueError):
    """The stored bytes are not a PDF carrying a signature."""


class InspectingReader:
    """Wraps a stream: hashes and counts what passes through, and looks for the PDF and signature markers."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.has_signature = False
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        if chunk:
            self._hash.update(chunk)
            self.size += len(chunk)
            if len(self.head) < len(PDF_MAGIC):
                self.head = (self.head + chunk)[: len(PDF_MAGIC)]
            if not self.has_signature:
                window = self._tail + chunk
                self.has_signature = SIGNATURE_MARKER in window
                self._tail = window[-len(SIGNATURE_MARKER) :]
        return chunk

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def is_signed_pdf(self) -> bool:
        return self.head == PDF_MAGIC and self.has_signature
