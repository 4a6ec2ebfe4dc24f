"""The Sign API v2 client against a real loopback HTTP server (pytest-httpserver)."""

from __future__ import annotations

import gzip
import io
import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from signing_core.settings import ConfigurationError, SignicatSettings
from signing_core.signicat import SignicatClient
from signing_core.signicat_errors import SignicatError, SignicatUnavailable
from signing_core.signicat_wire import pades_document_id

CLIENT_ID = "client-id"
CLIENT_SECRET = "client-secret-value"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server():
    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def signicat(server):
    server.clear()
    yield server
    server.check_assertions()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenEndpoint:
    """Mints token-1, token-2, ... and records each request's form and Authorization header."""

    def __init__(self, server: HTTPServer, expires_in: int | None = 600) -> None:
        self.requests: list[dict] = []
        self.expires_in = expires_in
        server.expect_request("/token", method="POST").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        self.requests.append(
            {"form": request.form.to_dict(), "authorization": request.headers.get("Authorization")}
        )
        answer = {"access_token": f"token-{len(self.requests)}", "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return Response(json.dumps(answer), content_type="application/json")

    @property
    def minted(self) -> int:
        return len(self.requests)


class BodyRecorder:
    """Answers with a fixed JSON and keeps each request's body and headers."""

    def __init__(self, answer: object, status: int = 200) -> None:
        self.answer, self.status = answer, status
        self.bodies: list[bytes] = []
        self.headers: list[dict] = []

    def __call__(self, request: Request) -> Response:
        self.bodies.append(request.get_data())
        self.headers.append(dict(request.headers))
        return Response(json.dumps(self.answer), status=self.status, content_type="application/json")


class OneWayStream(io.RawIOBase):
    """A stream that can only be read forward, like an S3 StreamingBody or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def make_client(server: HTTPServer, **kwargs) -> SignicatClient:
    kwargs.setdefault("backoff_factor", 0.001)
    return SignicatClient(
        server.url_for("/sign"), server.url_for("/token"), lambda: (CLIENT_ID, CLIENT_SECRET), **kwargs
    )


def api_requests(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in server.log if request.path == path]


def problem(status: int, code: str, detail: str, **extra) -> Response:
    body = {
        "type": "about:blank",
        "title": "Error",
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return Response(json.dumps(body), status=status, content_type=PROBLEM)


def session_json(session_id: str = "s-1", **extra) -> dict:
    return {"id": session_id, "lifecycle": {"state": "READY", "stateIsFinal": False}, **extra}


# --- token ---------------------------------------------------------------------------------------


def test_token_request_sends_the_client_credentials_in_the_form_body(signicat):
    tokens = TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())

    make_client(signicat).get_signing_session("s-1")

    assert tokens.requests == [
        {
            "form": {
                "grant_type": "client_credentials",
                "scope": "signicat-api",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            "authorization": None,
        }
    ]


def test_token_is_minted_once_and_reused_across_calls(signicat):
    tokens = TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1", method="GET").respond_with_json(session_json())
    client = make_client(signicat)

    for _ in range(3):
        client.get_signing_session("s-1")

    assert tokens.minted == 1
    sent = [r.headers["Authorization"] for r in api_requests(signicat, "/sign/signing-sessions/s-1")]
    assert sent == ["Bearer token-1"] * 3


def test_token_is_refreshed_before_it_expires(signicat):
    tokens = TokenEndpoint(signicat, expires_in=600)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())
    clock = FakeClock()
    client = make_client(signicat, clock=clock)

    client.get_signing_session("s-1")
    clock.now += 565  # inside the lifetime less its 30 s margin
    client.get_signing_session("s-1")
    clock.now += 10  # within the last 30 s of the token's life
    client.get_signing_session("s-1")

    assert tokens.minted == 2
    sent = [r.headers["Authorization"] for r in api_requests(signicat, "/sign/signing-sessions/s-1")]
    assert sent == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_token_without_expires_in_lives_signicats_default_600_seconds(signicat):
    tokens = TokenEndpoint(signicat, expires_in=None)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())
    clock = FakeClock()
    client = make_client(signicat, clock=clock)

    client.get_signing_session("s-1")
    clock.now += 560
    client.get_signing_session("s-1")
    assert tokens.minted == 1
    clock.now += 20
    client.get_signing_session("s-1")
    assert tokens.minted == 2


def test_401_mints_a_new_token_and_repeats_the_call_once(signicat):
    tokens = TokenEndpoint(signicat)
    signicat.expect_oneshot_request("/sign/signing-sessions/s-1").respond_with_response(
        problem(401, "UNAUTHORIZED", "token revoked")
    )
    signicat.expect_request(
        "/sign/signing-sessions/s-1", headers={"Authorization": "Bearer token-2"}
    ).respond_with_json(session_json())

    session = make_client(signicat).get_signing_session("s-1")

    assert session["id"] == "s-1"
    assert tokens.minted == 2
    assert len(api_requests(signicat, "/sign/signing-sessions/s-1")) == 2


def test_calls_in_threads_that_see_their_token_refused_mint_one_new_token():
    """A start's uploads run in threads: when Signicat refuses the token they share, one new token is minted."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        tokens = TokenEndpoint(server)
        callers = 4
        together = threading.Barrier(callers, timeout=10)

        def answer(request: Request) -> Response:
            if request.headers.get("Authorization") == "Bearer token-1":
                together.wait()  # every caller holds token-1 before any sees it refused
                return problem(401, "UNAUTHORIZED", "token revoked")
            return Response(json.dumps(session_json()), content_type="application/json")

        server.expect_request("/sign/signing-sessions/s-1").respond_with_handler(answer)
        client = make_client(server)
        with ThreadPoolExecutor(callers) as pool:
            answers = list(pool.map(lambda _: client.get_signing_session("s-1"), range(callers)))

        assert [a["id"] for a in answers] == ["s-1"] * callers
        assert tokens.minted == 2
    finally:
        server.clear()
        server.stop()


def test_second_401_raises_signicat_error(signicat):
    tokens = TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_response(
        problem(401, "UNAUTHORIZED", "no access to this account")
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat).get_signing_session("s-1")

    assert caught.value.status == 401
    assert caught.value.code == "UNAUTHORIZED"
    assert tokens.minted == 2
    assert len(api_requests(signicat, "/sign/signing-sessions/s-1")) == 2


def test_failed_token_request_raises_signicat_error_and_calls_no_api(signicat):
    signicat.expect_request("/token", method="POST").respond_with_json(
        {"error": "invalid_client", "error_description": "unknown client"}, status=400
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat).get_signing_session("s-1")

    assert (caught.value.status, caught.value.code, caught.value.detail) == (
        400,
        "invalid_client",
        "unknown client",
    )
    assert api_requests(signicat, "/sign/signing-sessions/s-1") == []


def test_token_answer_without_access_token_raises_signicat_error(signicat):
    signicat.expect_request("/token", method="POST").respond_with_json({"token_type": "Bearer"})

    with pytest.raises(SignicatError, match="access_token"):
        make_client(signicat).get_signing_session("s-1")


def test_tokens_and_credentials_are_never_logged(signicat, caplog):
    TokenEndpoint(signicat)
    signicat.expect_oneshot_request("/sign/signing-sessions/s-1").respond_with_response(
        problem(401, "UNAUTHORIZED", "expired")
    )
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())

    with caplog.at_level(logging.DEBUG):
        make_client(signicat).get_signing_session("s-1")

    assert "minted" in caplog.text
    for secret in ("token-1", "token-2", CLIENT_SECRET, "Bearer"):
        assert secret not in caplog.text


# --- retries -------------------------------------------------------------------------------------


def test_get_is_retried_after_503(signicat):
    TokenEndpoint(signicat)
    signicat.expect_oneshot_request("/sign/signing-sessions/s-1").respond_with_data("busy", status=503)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())

    assert make_client(signicat).get_signing_session("s-1")["id"] == "s-1"
    assert len(api_requests(signicat, "/sign/signing-sessions/s-1")) == 2


def test_429_waits_as_long_as_retry_after_says(signicat):
    TokenEndpoint(signicat)
    signicat.expect_oneshot_request("/sign/signing-sessions/s-1").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())
    client = make_client(signicat)

    started = time.monotonic()
    client.get_signing_session("s-1")
    waited = time.monotonic() - started

    assert len(api_requests(signicat, "/sign/signing-sessions/s-1")) == 2
    # A lower bound only: the backoff alone is a millisecond, so the wait came from Retry-After.
    assert waited >= 1.0


def test_get_retries_run_out_and_the_last_answer_is_raised(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_response(
        problem(503, "UNAVAILABLE", "maintenance", traceId="t-503")
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat, retries=2).get_signing_session("s-1")

    assert (caught.value.status, caught.value.code, caught.value.trace_id) == (503, "UNAVAILABLE", "t-503")
    assert caught.value.retryable
    assert len(api_requests(signicat, "/sign/signing-sessions/s-1")) == 3


def test_post_is_not_retried_after_503(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions", method="POST").respond_with_response(
        problem(503, "UNAVAILABLE", "try later")
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat).create_signing_sessions([{"title": "Contract"}])

    assert caught.value.status == 503
    assert len(api_requests(signicat, "/sign/signing-sessions")) == 1


def test_post_is_retried_after_429(signicat):
    TokenEndpoint(signicat)
    signicat.expect_oneshot_request("/sign/signing-sessions", method="POST").respond_with_data(
        "too many", status=429
    )
    signicat.expect_request("/sign/signing-sessions", method="POST").respond_with_json(
        [session_json()], status=201
    )

    created = make_client(signicat).create_signing_sessions([{"title": "Contract"}])

    assert created[0]["id"] == "s-1"
    assert len(api_requests(signicat, "/sign/signing-sessions")) == 2


def test_delete_is_retried_after_502(signicat):
    TokenEndpoint(signicat)
    signicat.expect_oneshot_request("/sign/signing-sessions/s-1", method="DELETE").respond_with_data(
        "bad gateway", status=502
    )
    signicat.expect_request("/sign/signing-sessions/s-1", method="DELETE").respond_with_data("", status=204)

    assert make_client(signicat).delete_signing_session("s-1") is None
    assert len(api_requests(signicat, "/sign/signing-sessions/s-1")) == 2


# --- errors --------------------------------------------------------------------------------------


def test_problem_json_is_mapped_to_error_fields(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions", method="POST").respond_with_response(
        problem(
            400,
            "INVALID_REQUEST",
            "dueDate is too far ahead",
            traceId="trace-42",
            invalidParams=[{"name": "dueDate", "reason": "at most 30 days ahead"}],
        )
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat).create_signing_sessions([{"title": "Contract"}])

    error = caught.value
    assert (error.status, error.type, error.title, error.code, error.detail, error.trace_id) == (
        400,
        "about:blank",
        "Error",
        "INVALID_REQUEST",
        "dueDate is too far ahead",
        "trace-42",
    )
    assert error.invalid_params == [{"name": "dueDate", "reason": "at most 30 days ahead"}]
    assert str(error) == "400 INVALID_REQUEST: dueDate is too far ahead (traceId trace-42)"
    assert not error.retryable


def test_non_json_error_body_is_still_a_signicat_error(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_data(
        "<html><body>\n  Bad gateway\n</body></html>", status=502, content_type="text/html"
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat, retries=0).get_signing_session("s-1")

    assert caught.value.status == 502
    assert caught.value.code is None
    assert caught.value.detail == "<html><body> Bad gateway </body></html>"
    assert str(caught.value).startswith("502 BAD GATEWAY: ")


def test_success_without_json_body_raises_signicat_error(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_data("not json")

    with pytest.raises(SignicatError, match="UNEXPECTED_RESPONSE: GET /sign/signing-sessions/s-1"):
        make_client(signicat).get_signing_session("s-1")


def test_slow_answer_beyond_read_timeout_raises_unavailable(signicat):
    TokenEndpoint(signicat)
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)
        return Response(json.dumps(session_json()), content_type="application/json")

    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_handler(slow)
    client = make_client(signicat, read_timeout=0.2, retries=0)
    try:
        with pytest.raises(SignicatUnavailable) as caught:
            client.get_signing_session("s-1")
    finally:
        release.set()

    assert caught.value.code == "TIMEOUT"
    assert caught.value.status == 0
    assert caught.value.retryable
    assert "read 0.2 s" in str(caught.value)


def test_unreachable_signicat_raises_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SignicatClient(
        f"http://127.0.0.1:{port}/sign", f"http://127.0.0.1:{port}/token", lambda: ("a", "b"), retries=0
    )

    with pytest.raises(SignicatUnavailable) as caught:
        client.get_signing_session("s-1")

    assert caught.value.code == "CONNECTION_ERROR"
    # What a caller may be told: the call that could not be made (the token is minted first), no URL.
    assert caught.value.summary() == "Signicat could not be reached while issuing an access token"


def test_a_refusal_says_which_call_failed_without_signicats_detail(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions", method="POST").respond_with_response(
        problem(400, "invalid_request_parameter", "signer 01017012345 is unknown", traceId="trace-9")
    )

    with pytest.raises(SignicatError) as caught:
        make_client(signicat).create_signing_sessions([{"title": "Contract"}])

    assert caught.value.operation == "creating the signing sessions"
    assert caught.value.summary() == (
        "Signicat answered 400 invalid_request_parameter while creating the signing sessions"
    )


# --- documents -----------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
UPLOADED = {"documentId": "d-1", "mimeType": "application/pdf", "documentHash": {"hash": "x"}}


def test_upload_sends_the_exact_bytes_with_content_type_and_no_base64(signicat):
    TokenEndpoint(signicat)
    recorder = BodyRecorder(UPLOADED)
    signicat.expect_request("/sign/documents", method="POST").respond_with_handler(recorder)

    answer = make_client(signicat).upload_document(PDF)

    assert answer["documentId"] == "d-1"
    assert recorder.bodies == [PDF]
    assert recorder.headers[0]["Content-Type"] == "application/pdf"
    assert recorder.headers[0]["Content-Length"] == str(len(PDF))


def test_upload_streams_a_file_with_its_content_type(signicat, tmp_path):
    TokenEndpoint(signicat)
    recorder = BodyRecorder(UPLOADED)
    signicat.expect_request("/sign/documents", method="POST").respond_with_handler(recorder)
    path = tmp_path / "terms.txt"
    path.write_bytes(b"plain terms\n" * 1000)

    with path.open("rb") as document:
        make_client(signicat).upload_document(document, content_type="text/plain")

    assert recorder.bodies == [path.read_bytes()]
    assert recorder.headers[0]["Content-Type"] == "text/plain"


@pytest.mark.parametrize(
    "make_body", [io.BytesIO, OneWayStream], ids=["seekable stream", "forward-only stream"]
)
def test_upload_retried_after_429_resends_the_whole_body(signicat, make_body):
    TokenEndpoint(signicat)
    recorder = BodyRecorder(UPLOADED)
    signicat.expect_oneshot_request("/sign/documents", method="POST").respond_with_handler(
        BodyRecorder({"title": "Too Many Requests"}, status=429)
    )
    signicat.expect_request("/sign/documents", method="POST").respond_with_handler(recorder)

    make_client(signicat).upload_document(make_body(PDF))

    assert len(api_requests(signicat, "/sign/documents")) == 2
    assert recorder.bodies == [PDF]


def test_upload_repeated_after_401_resends_the_whole_body(signicat):
    TokenEndpoint(signicat)
    recorder = BodyRecorder(UPLOADED)
    signicat.expect_oneshot_request("/sign/documents", method="POST").respond_with_response(
        problem(401, "UNAUTHORIZED", "expired")
    )
    signicat.expect_request("/sign/documents", method="POST").respond_with_handler(recorder)

    make_client(signicat).upload_document(io.BytesIO(PDF))

    assert recorder.bodies == [PDF]


@pytest.mark.parametrize(
    ("body", "error"),
    [(b"", ValueError), ("%PDF text", TypeError), (None, TypeError)],
    ids=["empty", "str", "none"],
)
def test_upload_refuses_what_is_not_a_document(body, error):
    client = SignicatClient("http://127.0.0.1:9/sign", "http://127.0.0.1:9/token", lambda: ("a", "b"))
    with pytest.raises(error):
        client.upload_document(body)


def test_download_streams_the_body_in_chunks_and_closes_it(signicat):
    TokenEndpoint(signicat)
    chunk = bytes(range(256)) * 256  # 64 KiB
    document = chunk * 48  # 3 MiB
    signicat.expect_request("/sign/documents/d-9", method="GET").respond_with_response(
        Response((chunk for _ in range(48)), content_type="application/pdf")
    )

    received = []
    with make_client(signicat).download_document("d-9") as stream:
        first = stream.read(len(chunk))
        assert stream.tell() == len(chunk)  # read from the wire as asked, not preloaded
        received.append(first)
        while block := stream.read(len(chunk)):
            received.append(block)

    assert b"".join(received) == document
    assert stream.closed


def test_download_decodes_content_encoding(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/documents/d-9").respond_with_data(
        gzip.compress(PDF), content_type="application/pdf", headers={"Content-Encoding": "gzip"}
    )

    with make_client(signicat).download_document("d-9") as stream:
        assert stream.read() == PDF


def test_download_of_unknown_document_raises_before_yielding(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/documents/d-0").respond_with_response(
        problem(404, "NOT_FOUND", "no such document")
    )

    with pytest.raises(SignicatError) as caught, make_client(signicat).download_document("d-0"):
        pytest.fail("the body of a failed download must not run")

    assert caught.value.status == 404


# --- collections and sessions --------------------------------------------------------------------


def test_create_document_collection_posts_the_document_ids_packaged_into_one_pades(signicat):
    TokenEndpoint(signicat)
    answer = {"id": "c-1", "documents": [{"documentId": "d-1"}, {"documentId": "d-2"}]}
    signicat.expect_request(
        "/sign/document-collections",
        method="POST",
        json={"documents": [{"documentId": "d-1"}, {"documentId": "d-2"}], "packageTo": ["PADES_CONTAINER"]},
    ).respond_with_json(answer, status=201)

    assert make_client(signicat).create_document_collection(["d-1", "d-2"]) == answer


def test_create_signing_sessions_sends_one_post_with_a_json_array(signicat):
    TokenEndpoint(signicat)
    sessions = [{"title": "Contract", "externalReference": f"ref-{n}"} for n in (1, 2)]
    signicat.expect_request("/sign/signing-sessions", method="POST", json=sessions).respond_with_json(
        [session_json("s-1"), session_json("s-2")], status=201
    )

    created = make_client(signicat).create_signing_sessions(sessions)

    assert [s["id"] for s in created] == ["s-1", "s-2"]
    posts = api_requests(signicat, "/sign/signing-sessions")
    assert len(posts) == 1
    assert posts[0].headers["Content-Type"] == "application/json"


def test_unknown_response_fields_are_kept_not_rejected(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(
        session_json(futureField={"nested": True}, lifecycle={"state": "ARCHIVED", "newFlag": 1})
    )

    session = make_client(signicat).get_signing_session("s-1")

    assert session["futureField"] == {"nested": True}
    assert session["lifecycle"] == {"state": "ARCHIVED", "newFlag": 1}


def test_session_id_is_escaped_in_the_path(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/a/b").respond_with_json(session_json("a/b"))

    make_client(signicat).get_signing_session("a/b")

    [request] = api_requests(signicat, "/sign/signing-sessions/a/b")
    assert request.environ["RAW_URI"] == "/sign/signing-sessions/a%2Fb"


def test_get_document_collection_answers_the_collection_with_its_packages(signicat):
    TokenEndpoint(signicat)
    package = {"packageId": "p-1", "resultDocumentId": "pades-1", "packageType": "PADES_CONTAINER"}
    answer = {"id": "c/1", "documents": [{"documentId": "d-1"}], "output": {"packages": [package]}}
    signicat.expect_request("/sign/document-collections/c/1", method="GET").respond_with_json(answer)

    assert make_client(signicat).get_document_collection("c/1") == answer
    [request] = api_requests(signicat, "/sign/document-collections/c/1")
    assert request.environ["RAW_URI"] == "/sign/document-collections/c%2F1"


def test_a_collection_signicat_does_not_have_is_a_404_that_says_what_was_read(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request("/sign/document-collections/c-1").respond_with_response(
        problem(404, "not_found", "Document collection c-1 not found")
    )

    with pytest.raises(SignicatError) as raised:
        make_client(signicat).get_document_collection("c-1")

    assert (raised.value.status, raised.value.operation) == (404, "reading the document collection")


def test_list_signing_sessions_sends_limit_and_offset(signicat):
    TokenEndpoint(signicat)
    signicat.expect_request(
        "/sign/signing-sessions", method="GET", query_string={"limit": "10", "offset": "20"}
    ).respond_with_json([session_json("s-21")])

    assert make_client(signicat).list_signing_sessions(limit=10, offset=20) == [session_json("s-21")]


def test_list_signing_sessions_answers_the_items_of_signicats_page(signicat):
    TokenEndpoint(signicat)
    page = {
        "data": [session_json("s-1"), session_json("s-2")],
        "count": 2,
        "limit": 2,
        "offset": 0,
        "total": 5,
    }
    signicat.expect_request("/sign/signing-sessions", method="GET").respond_with_json(page)

    assert make_client(signicat).list_signing_sessions(limit=2) == [session_json("s-1"), session_json("s-2")]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_signing_session(""),
        lambda c: c.delete_signing_session(None),
        lambda c: c.get_document_collection(" "),
        lambda c: c.create_document_collection([]),
        lambda c: c.create_document_collection(["d-1", ""]),
        lambda c: c.create_signing_sessions([]),
        lambda c: c.create_signing_sessions({"title": "not a list"}),
        lambda c: c.list_signing_sessions(limit=0),
        lambda c: c.list_signing_sessions(offset=-1),
        lambda c: c.upload_document(PDF, content_type="pdf"),
    ],
    ids=[
        "empty session id",
        "missing session id",
        "blank collection id",
        "no documents",
        "empty document id",
        "no sessions",
        "sessions not a list",
        "limit 0",
        "negative offset",
        "content type",
    ],
)
def test_bad_arguments_raise_value_error_before_any_request(call):
    client = SignicatClient("http://127.0.0.1:9/sign", "http://127.0.0.1:9/token", lambda: ("a", "b"))
    with pytest.raises(ValueError):
        call(client)


def test_client_refuses_a_url_that_is_not_http():
    with pytest.raises(ValueError, match="api_url"):
        SignicatClient("api.signicat.com/sign", "https://x/token", lambda: ("a", "b"))


# --- pades_document_id ---------------------------------------------------------------------------


def test_pades_document_id_is_the_pades_container_package_result():
    session = {
        "output": {
            "signatures": [{"resultDocumentId": "xades-1", "signatureType": "XADES"}],
            "packages": [
                {"packageId": "p-0", "resultDocumentId": "other", "packageType": "SOMETHING_NEW"},
                {"packageId": "p-1", "resultDocumentId": "pades-1", "packageType": "PADES_CONTAINER"},
            ],
        }
    }
    assert pades_document_id(session) == "pades-1"


@pytest.mark.parametrize(
    "session",
    [{}, {"output": None}, {"output": {"packages": []}}, {"output": {"signatures": [{"x": 1}]}}],
    ids=["no output", "null output", "no packages", "signatures only"],
)
def test_pades_document_id_is_none_before_packaging(session):
    assert pades_document_id(session) is None


# --- credentials from Secrets Manager ------------------------------------------------------------


@pytest.fixture
def secrets_manager(monkeypatch):
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    parameters.clear_caches()
    with mock_aws():
        import boto3

        yield boto3.client("secretsmanager")
    parameters.clear_caches()


def settings_for(server: HTTPServer, secret_id: str) -> SignicatSettings:
    return SignicatSettings(server.url_for("/sign"), server.url_for("/token"), secret_id)


def test_from_settings_reads_credentials_from_the_secret(signicat, secrets_manager):
    secret = json.dumps({"clientId": "sm-client", "clientSecret": "sm-secret", "note": "ignored"})
    arn = secrets_manager.create_secret(Name="signicat", SecretString=secret)["ARN"]
    tokens = TokenEndpoint(signicat)
    signicat.expect_request("/sign/signing-sessions/s-1").respond_with_json(session_json())

    SignicatClient.from_settings(settings_for(signicat, arn)).get_signing_session("s-1")

    form = tokens.requests[0]["form"]
    assert (form["client_id"], form["client_secret"]) == ("sm-client", "sm-secret")


def test_from_settings_names_the_missing_secret_key(signicat, secrets_manager):
    incomplete = json.dumps({"clientId": "sm-client"})
    arn = secrets_manager.create_secret(Name="signicat", SecretString=incomplete)["ARN"]

    with pytest.raises(ConfigurationError, match="lacks clientSecret"):
        SignicatClient.from_settings(settings_for(signicat, arn)).get_signing_session("s-1")
