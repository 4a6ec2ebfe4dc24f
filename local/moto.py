"""moto's server in this process, on 127.0.0.1 and a free port: the offline stack's AWS."""

from __future__ import annotations

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class _QuietThreadedMotoServer(ThreadedMotoServer):
    """moto's own server loop, with a handler that does not print every AWS call to stderr."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=_QuietRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_requests: bool = False) -> None:
        server_class = ThreadedMotoServer if log_requests else _QuietThreadedMotoServer
        self._server = server_class(ip_address=host, port=port, verbose=False)
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("moto server is not started")
        return self._endpoint_url

    def start(self) -> MotoServer:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint_url = f"http://{host}:{port}"
        return self

    def reset(self) -> None:
        """Forget every resource (moto keeps them per process, not per server)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        if self._endpoint_url is None:
            return
        self._server.stop()
        # ThreadedMotoServer.stop() shuts the loop down but leaves the listening socket open.
        server = getattr(self._server, "_server", None)
        if server is not None:
            server.server_close()
        self._endpoint_url = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
