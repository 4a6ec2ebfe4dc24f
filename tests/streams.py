"""Test helpers: large bodies that are never whole in memory, and free local ports."""

from __future__ import annotations

import hashlib
import socket


class PatternStream:
    """A file-like body of `size` bytes: `head`, then a repeating filler, made as it is read."""

    FILL = bytes(range(256)) * 256

    def __init__(self, head: bytes, size: int) -> None:
        self.head = head[:size]
        self.size = size
        self.position = 0

    def read(self, n: int = -1) -> bytes:
        remaining = self.size - self.position
        if n is None or n < 0 or n > remaining:
            n = remaining
        out = bytearray()
        while len(out) < n:
            offset = self.position + len(out)
            if offset < len(self.head):
                out += self.head[offset : offset + n - len(out)]
            else:
                start = (offset - len(self.head)) % len(self.FILL)
                out += self.FILL[start : start + n - len(out)]
        self.position += n
        return bytes(out)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        while chunk := self.read(1024 * 1024):
            digest.update(chunk)
        return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
