"""moto's server in this process, on 127.0.0.1 and a free port: the offline stack's AWS."""

from __future__ import annotations

import requests
from moto.server import ThreadedMotoServer


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
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
