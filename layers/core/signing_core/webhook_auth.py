"""Authentication of webhook deliveries: a secret in the URL's path (the default), an HMAC-SHA256 signature
of the raw body, or a shared token.

Signicat documents no way of authenticating its deliveries, so the default works with any provider: the
operator registers a URL whose last path segment is a secret (`/webhooks/signicat/{secret}`), and a delivery
is accepted when that segment equals one of the configured secrets. A path segment rather than a query
parameter keeps it out of the query strings that logs and proxies record. The HMAC check is there to turn
on once Signicat confirms a signature scheme.

Pure functions over plain values (bytes, strings, mappings), plus a small time-bounded cache for the
secrets so a rotation in Secrets Manager is picked up without a redeploy. Every comparison is constant
time, every secret is tried (rotation), and no secret, token or signature is ever put in a message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from signing_core.errors import DomainError
from signing_core.settings import ConfigurationError

URL_MODE = "url"
HMAC_MODE = "hmac"
TOKEN_MODE = "token"  # noqa: S105  # nosec B105 - a mode name, not a secret
MODES = (URL_MODE, HMAC_MODE, TOKEN_MODE)
# A secret that is a URL's path segment: long enough not to be guessed, and only characters a URL carries as
# they are (RFC 3986's unreserved), so the registered URL and the path the function sees are the same.
URL_SECRET = re.compile(r"[A-Za-z0-9._~-]{32,}")
TOKEN_QUERY_PARAMETER = "token"  # noqa: S105  # nosec B105 - a parameter name, not a secret
_DIGEST_SIZE = hashlib.sha256().digest_size


class Unauthenticated(DomainError):
    """The delivery carries no valid signature or token. Its detail never says which part was wrong."""

    status = 401
    code = "UNAUTHENTICATED"


def parse_secrets(raw: str) -> tuple[str, ...]:
    """Read a secret value: JSON `{"secrets": [...]}` or a plain string (one secret).

    Empty strings are dropped: an empty secret would accept an empty token. A value holding no secret
    is a configuration error, so the caller refuses every delivery rather than accepting any.
    """
    text = raw.strip()
    secrets: list[object]
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ConfigurationError("webhook secret is not valid JSON") from None
        listed = document.get("secrets") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            raise ConfigurationError('webhook secret JSON must be {"secrets": ["...", ...]}')
        secrets = listed
    else:
        secrets = [text]
    if not all(isinstance(secret, str) for secret in secrets):
        raise ConfigurationError("webhook secrets must be strings")
    usable = tuple(str(secret) for secret in secrets if secret)
    if not usable:
        raise ConfigurationError("webhook secret holds no secrets")
    return usable


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """The value of a header, whatever the case of its name (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def decode_signature(signature: str) -> bytes | None:
    """The digest bytes of a signature given as hex, `sha256=<hex>`, or base64; None if it is none of them."""
    text = signature.strip()
    if text[:7].lower() == "sha256=":
        text = text[7:]
    if len(text) == 2 * _DIGEST_SIZE:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass  # 64 characters that are not hex: maybe base64 of something else; it fails the length check
    try:
        standard = text.replace("-", "+").replace("_", "/")  # url-safe base64 too
        digest = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == _DIGEST_SIZE else None


def verify_hmac(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """True if `signature` is the HMAC-SHA256 of `body` under any of `secrets`."""
    if not signature:
        return False
    provided = decode_signature(signature)
    if provided is None:
        return False
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
        # No early exit: the time taken does not depend on which secret matched.
        matched |= hmac.compare_digest(expected, provided)
    return matched


def usable_in_url(secrets: Sequence[str]) -> tuple[str, ...]:
    """The secrets, if every one can be a URL's path segment; a ConfigurationError (naming no secret) if not."""
    if not all(URL_SECRET.fullmatch(secret) for secret in secrets):
        raise ConfigurationError(
            "in url mode every webhook secret must be at least 32 characters of A-Z, a-z, 0-9, '-', '_', '.', '~'"
        )
    return tuple(secrets)


def verify_token(token: str | None, secrets: Sequence[str]) -> bool:
    """True if `token` equals any of `secrets` (compared as bytes, so non-ASCII input cannot raise)."""
    if not token:
        return False
    provided = token.encode("utf-8", "surrogatepass")
    matched = False
    for secret in secrets:
        if secret:
            matched |= hmac.compare_digest(secret.encode("utf-8"), provided)
    return matched


def authenticate(
    *,
    mode: str,
    body: bytes,
    headers: Mapping[str, str] | None,
    query: Mapping[str, str] | None,
    path_secret: str | None,
    secrets: Sequence[str],
    signature_header: str,
    token_header: str,
) -> None:
    """Raise Unauthenticated unless the delivery's URL carries a secret (url), it is signed (hmac), or it
    carries the token (token). In hmac and token mode the URL's path carries no credential and is not read."""
    if mode == URL_MODE:
        accepted = verify_token(path_secret, usable_in_url(secrets))
    elif mode == HMAC_MODE:
        accepted = verify_hmac(body, header(headers, signature_header), secrets)
    elif mode == TOKEN_MODE:
        token = header(headers, token_header) or (query or {}).get(TOKEN_QUERY_PARAMETER)
        accepted = verify_token(token, secrets)
    else:
        raise ConfigurationError(f"webhook auth mode must be one of {', '.join(MODES)}")
    if not accepted:
        raise Unauthenticated("the delivery is not authenticated")


def sign(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of `body`: what a sender puts in the signature header (tests, the emulator)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class SecretCache:
    """Secrets fetched on first use and again once `ttl` seconds have passed (so a rotation is seen).

    A failed fetch is not cached: the error reaches the caller, who refuses the delivery.
    """

    def __init__(
        self,
        fetch: Callable[[], str],
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._fetched_at: float | None = None

    def get(self) -> tuple[str, ...]:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                self._secrets = parse_secrets(self._fetch())
                self._fetched_at = now
            return self._secrets
