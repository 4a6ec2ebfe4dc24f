"""Run the emulator on 127.0.0.1 in a background thread (tests, the local stack)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.emulator.app import create_app
from local.emulator.config import EmulatorConfig
from local.emulator.context import emulator_of
from local.emulator.core import Emulator

HOST = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *_args, **_kwargs) -> None:
        pass


class EmulatorServer:
    def __init__(
        self, config: EmulatorConfig | None = None, port: int = 0, log_requests: bool = False
    ) -> None:
        self.config = config or EmulatorConfig()
        self.port = port
        self._handler = WSGIRequestHandler if log_requests else _QuietHandler
        self.app = create_app(self.config)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def emulator(self) -> Emulator:
        return emulator_of(self.app)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{HOST}:{self._server.server_port}"

    def ca_pem(self) -> bytes:
        return self.emulator.ca_pem()

    def start(self) -> EmulatorServer:
        """Bind (port 0: any free port), then serve in a thread; public_base_url defaults to .url."""
        if self._server is not None:
            raise RuntimeError("the emulator is already started")
        self._server = make_server(HOST, self.port, self.app, threaded=True, request_handler=self._handler)
        if not self.config.public_base_url:
            self.config.public_base_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="emulator-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and the packaging and delivery workers; join every thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = self._thread = None
        self.emulator.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
