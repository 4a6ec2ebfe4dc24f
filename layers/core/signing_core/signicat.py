"""Client of the Signicat Sign API v2: retries, uploads, collections, sessions, downloads.

Retry policy (urllib3 `Retry` on one `requests.Session`):
- GET, HEAD, PUT, DELETE are retried on 429, 502, 503, 504, on connection errors and on read errors,
  with exponential backoff and jitter, honouring `Retry-After`.
- POST creates things, so it is retried only when the server certainly did not act on it: on 429 (the
  request was refused) and on errors while connecting (the request never left). A 5xx or a read timeout
  after a POST was sent is raised, never repeated. A retried POST resends the whole body: bytes as they
  are, a seekable stream rewound by urllib3, any other stream first spooled to a temporary file.
- After the retries, the last answer becomes a `SignicatError` carrying its problem+json fields.

Responses are plain dicts and lists: fields this module does not know are passed through, never rejected.
Tokens and credentials are never logged; the access token is kept by signicat_tokens.py. Request bodies and
answer shapes are in signicat_wire.py, which the use cases read without importing `requests`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from signing_core import metrics, signicat_tokens, tracing
from signing_core.settings import MAX_UPLOAD_CONCURRENCY, SignicatSettings
from signing_core.signicat_errors import SignicatError, SignicatUnavailable
from signing_core.signicat_wire import (
    OPERATIONS,
    collection_body,
    identifier,
    is_int,
    json_array,
    json_object,
    page_items,
    path_id,
    replayable,
)

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A Lambda cannot wait long: a longer Retry-After is cut to this, and the caller sees the final answer.
MAX_RETRY_AFTER_SECONDS = 20
MAX_BACKOFF_SECONDS = 10.0
POOL_SIZE = MAX_UPLOAD_CONCURRENCY  # connections kept per host, one per concurrent call


class _SignicatRetry(Retry):
    """urllib3's Retry, plus: a POST refused with 429 is retried, since the server did not act on it."""

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code == 429:
            return True
        return super().is_retry(method, status_code, has_retry_after)


class SignicatClient:
    """One per container: it holds the connection pool and the access token. Safe to call from several
    threads at once: `requests.Session` only reads its settings per call and urllib3's pool is thread-safe (one
    connection per concurrent call, `POOL_SIZE`), the token cache is behind a lock (signicat_tokens.py)."""

    def __init__(
        self,
        api_url: str,
        token_url: str,
        credentials: Callable[[], tuple[str, str]],
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        retries: int = 4,
        backoff_factor: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, url in (("api_url", api_url), ("token_url", token_url)):
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an http(s) URL, got {url!r}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self._api_url = api_url.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json"})
        # One connection per concurrent call (a start's uploads run in threads): the pool never discards one.
        adapter = HTTPAdapter(max_retries=_retry_policy(retries, backoff_factor), pool_maxsize=POOL_SIZE)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._tokens = signicat_tokens.AccessTokens(token_url, credentials, self._send, clock)

    @classmethod
    def from_settings(cls, settings: SignicatSettings) -> SignicatClient:
        secret_id = settings.secret_id
        return cls(
            settings.api_url, settings.token_url, lambda: signicat_tokens.credentials_from_secret(secret_id)
        )

    def close(self) -> None:
        """Forget the access token and close the pooled connections."""
        self._tokens.forget()
        self._session.close()

    # --- Sign API v2 -------------------------------------------------------------------------------

    def upload_document(self, body: bytes | BinaryIO, content_type: str = "application/pdf") -> dict:
        """Send the document as raw bytes (never base64); a stream is sent as it is read."""
        if not isinstance(content_type, str) or "/" not in content_type:
            raise ValueError(
                f"content_type must be a media type such as application/pdf, got {content_type!r}"
            )
        with replayable(body) as payload:
            response = self._call("POST", "/documents", data=payload, headers={"Content-Type": content_type})
        return json_object(response)

    def delete_document(self, document_id: str) -> None:
        self._call("DELETE", f"/documents/{path_id('document id', document_id)}").close()

    def create_document_collection(self, document_ids: list[str]) -> dict:
        """The collection of the documents, packaged into one PAdES when every session using it is signed."""
        if not isinstance(document_ids, list) or not document_ids:
            raise ValueError("document_ids must be a non-empty list of document ids")
        body = collection_body([identifier("document id", d) for d in document_ids])
        return json_object(self._call("POST", "/document-collections", json=body))

    def delete_document_collection(self, collection_id: str) -> None:
        path = f"/document-collections/{path_id('collection id', collection_id)}"
        self._call("DELETE", path).close()

    def get_document_collection(self, collection_id: str) -> dict:
        """The collection with its `output.packages`: where a collection-level PAdES appears once packaged."""
        path = f"/document-collections/{path_id('collection id', collection_id)}"
        return json_object(self._call("GET", path))

    def create_signing_sessions(self, sessions: list[dict]) -> list[dict]:
        """Create the sessions in one POST: the API takes and returns a JSON array."""
        if not isinstance(sessions, list) or not sessions or not all(isinstance(s, dict) for s in sessions):
            raise ValueError("sessions must be a non-empty list of signing session objects")
        return json_array(self._call("POST", "/signing-sessions", json=sessions))

    def get_signing_session(self, session_id: str) -> dict:
        return json_object(self._call("GET", f"/signing-sessions/{path_id('session id', session_id)}"))

    def delete_signing_session(self, session_id: str) -> None:
        self._call("DELETE", f"/signing-sessions/{path_id('session id', session_id)}").close()

    def list_signing_sessions(self, limit: int = 50, offset: int = 0) -> list[dict]:
        if not is_int(limit) or limit < 1 or not is_int(offset) or offset < 0:
            raise ValueError(f"limit must be 1 or more and offset 0 or more, got {limit!r} and {offset!r}")
        return page_items(self._call("GET", "/signing-sessions", params={"limit": limit, "offset": offset}))

    @contextlib.contextmanager
    def download_document(self, document_id: str) -> Iterator[BinaryIO]:
        """The document as a streaming file-like body, closed on exit; never held whole in memory."""
        path = f"/documents/{path_id('document id', document_id)}"
        response = self._call("GET", path, stream=True, headers={"Accept": "*/*"})
        try:
            response.raw.decode_content = True
            yield response.raw
        finally:
            response.close()

    # --- transport ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One API call; on a 401 the token is minted again and the call repeated once. A failure names what
        was being done (what a caller may be told); the method, path and Signicat's answer are logged only."""
        resource = path.split("/")[1]
        with tracing.subsegment(f"Signicat {method} {resource}", operation=f"{method} {resource}") as span:
            try:
                response = self._call_renewing_token(method, path, kwargs)
            except SignicatError as error:
                span.annotate("status", error.status or "unreachable")
                raise
            span.annotate("status", response.status_code)
            return response

    def _call_renewing_token(self, method: str, path: str, kwargs: dict[str, Any]) -> requests.Response:
        body = kwargs.get("data")
        start = body.tell() if hasattr(body, "seek") else None
        try:
            token = self._tokens.current()
            response = self._send_with_token(method, path, kwargs, token)
            if response.status_code == 401:
                response.close()
                log.info("Signicat answered 401 to %s %s: minting a new token", method, path)
                if start is not None:
                    body.seek(start)
                response = self._send_with_token(method, path, kwargs, self._tokens.current(refused=token))
            if not response.ok:
                error = SignicatError.from_response(response)
                response.close()
                raise error
        except SignicatError as error:
            error.operation = error.operation or OPERATIONS.get((method, path.split("/")[1]))
            log.warning("Signicat %s %s failed while %s: %s", method, path, error.operation, error)
            status = {metrics.STATUS: str(error.status) if error.status else "unreachable"}
            metrics.count(metrics.SIGNICAT_ERRORS, dimensions=status, operation=error.operation)
            raise
        return response

    def _send_with_token(
        self, method: str, path: str, kwargs: dict[str, Any], token: str
    ) -> requests.Response:
        headers = {**kwargs.get("headers", {}), "Authorization": f"Bearer {token}"}
        return self._send(method, f"{self._api_url}{path}", **{**kwargs, "headers": headers})

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            code = "TIMEOUT" if _is_timeout(exc) else "CONNECTION_ERROR"
            limits = f"connect {self._timeout[0]} s, read {self._timeout[1]} s"
            raise SignicatUnavailable(0, code=code, detail=f"{method} {url} ({limits}): {exc}") from exc


def _retry_policy(retries: int, backoff_factor: float) -> Retry:
    return _SignicatRetry(
        total=retries,
        other=0,  # TLS and other odd failures: not worth repeating
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_factor,
        backoff_max=MAX_BACKOFF_SECONDS,
        respect_retry_after_header=True,
        retry_after_max=MAX_RETRY_AFTER_SECONDS,
        raise_on_status=False,
    )


def _is_timeout(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.Timeout):
        return True
    # An idempotent call whose read retries ran out arrives as ConnectionError(MaxRetryError(ReadTimeout)).
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ReadTimeoutError)
