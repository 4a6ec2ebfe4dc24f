"""A stand-in for Signicat's sandbox: an emulator behind a proxy on 127.0.0.1 that adds fields to some answers
(or alters them), refuses the emulator's own /_emulator endpoints as the real service would not have them,
and tallies what was created and deleted through it."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.emulator import EmulatorConfig, EmulatorServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
CREATED_ID = {"documents": "documentId", "document-collections": "id", "signing-sessions": "id"}
_RESOURCE = re.compile(r"^/sign/(documents|document-collections|signing-sessions)(?:/([^/]+))?$")

Change = Callable[[Any], None]  # changes a JSON answer in place


@dataclass(frozen=True)
class Rule:
    """Change the JSON answers of `method path` (a regex on the path) with a 2xx/4xx status class."""

    method: str
    path: str
    status_class: int
    change: Change

    def applies(self, method: str, path: str, status: int) -> bool:
        return method == self.method and re.fullmatch(self.path, path) and status // 100 == self.status_class


class _Quiet(WSGIRequestHandler):
    def log_request(self, *_args: Any, **_kwargs: Any) -> None:
        pass


class StandInSandbox:
    def __init__(self, client_id: str, client_secret: str, rules: list[Rule]) -> None:
        config = EmulatorConfig(client_id=client_id, client_secret=client_secret, packaging_delay=0.05)
        self.backend = EmulatorServer(config)
        self.rules = rules
        self.refused: list[str] = []  # /_emulator paths asked for through the proxy
        self._failing: list[tuple[str, str]] = []  # (method, path regex) answered 503
        self.created = {kind: 0 for kind in CREATED_ID}
        self.deleted = {kind: 0 for kind in CREATED_ID}
        self._lock = threading.Lock()
        self._http = requests.Session()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> StandInSandbox:
        self.backend.start()
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._http.close()
        self.backend.stop()

    def refuse(self, method: str, path: str) -> None:
        """Answer `method path` (a regex on the path) with 503 from now on."""
        self._failing.append((method, path))

    def left_behind(self) -> dict[str, int]:
        """What the backend still holds: sessions, collections, documents."""
        store = self.backend.emulator.store
        with store.lock:
            return {
                "sessions": len(store.sessions),
                "collections": len(store.collections),
                "documents": len(store.documents),
            }

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith("/_emulator"):
            with self._lock:
                self.refused.append(request.path)
            return Response("not found", status=404)(environ, start_response)
        if any(request.method == m and re.fullmatch(p, request.path) for m, p in self._failing):
            return Response("unavailable", status=503)(environ, start_response)
        answer = self._http.request(
            request.method,
            f"{self.backend.url}{request.full_path.rstrip('?')}",
            headers={k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP},
            data=request.get_data(),
            timeout=30,
        )
        body = answer.content
        if "json" in answer.headers.get("Content-Type", ""):
            document = answer.json()
            for rule in self.rules:
                if rule.applies(request.method, request.path, answer.status_code):
                    rule.change(document)
            self._tally(request.method, request.path, answer.status_code, document)
            body = json.dumps(document).encode()
        elif request.method == "DELETE":
            self._tally(request.method, request.path, answer.status_code, None)
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(body, status=answer.status_code, headers=headers)(environ, start_response)

    def _tally(self, method: str, path: str, status: int, document: Any) -> None:
        match = _RESOURCE.match(path)
        if not match or status // 100 != 2:
            return
        kind, ident = match.groups()
        with self._lock:
            if method == "POST" and ident is None:
                items = document if isinstance(document, list) else [document]
                self.created[kind] += sum(1 for item in items if CREATED_ID[kind] in item)
            elif method == "DELETE" and ident is not None:
                self.deleted[kind] += 1
