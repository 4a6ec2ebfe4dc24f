"""moto's server in this process, on 127.0.0.1 and a free port: the offline stack's AWS.

With `access_control=True` every request passes local.access_control first (IAM as AWS enforces it), once
`access_control.enable()` is called: the stack creates its first users before that.
"""

from __future__ import annotations

import itertools
import os
import threading
import warnings
import weakref
from collections.abc import Iterable, Iterator

import requests
from moto.core.common_models import BaseModel
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3 import notifications as s3_notifications
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from local.access_control import AccessControl

_moto_s3_event = s3_notifications._get_s3_event
_sequencer = itertools.count(1)


def _s3_event_as_aws_sends_it(event_name, bucket, key, notification_id):
    """moto's S3 notification names key, size and eTag only; AWS's also carries the object's `versionId` (in a
    versioned bucket) and a `sequencer`, which tell two uploads of the same bytes under one key apart."""
    event = _moto_s3_event(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        found = record["s3"]["object"]
        found["sequencer"] = f"{next(_sequencer):016X}"
        if bucket.is_versioned and key.version_id and key.version_id != "null":
            found["versionId"] = key.version_id
    return event


s3_notifications._get_s3_event = _s3_event_as_aws_sends_it


class _HeldWeakly:
    """A model class's `instances_tracked`, holding its instances weakly (moto appends to it and iterates it;
    its models are not hashable, so they are keyed by identity)."""

    def __init__(self, instances: Iterable[object] = ()) -> None:
        self._held: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
        for instance in instances:
            self.append(instance)

    def append(self, instance: object) -> None:
        self._held[id(instance)] = instance

    def __iter__(self) -> Iterator[object]:
        return iter(list(self._held.values()))

    def __len__(self) -> int:
        return len(self._held)


def _new_held_weakly(cls, *args, **kwargs):
    """moto's BaseModel records every instance it makes in its class's `instances_tracked` (for its dashboard,
    and for S3's reset to close key buffers) and never lets go, copies included: each DynamoDB transaction
    deep-copies the table to roll back from, each object-version listing deep-copies every version. A long run
    keeps them all (21 GB after 900 chaos signings). Held weakly, what moto still uses stays listed for its
    reset, and a copy is freed once moto is done with it."""
    instance = super(BaseModel, cls).__new__(cls)
    tracked = cls.instances_tracked
    if not isinstance(tracked, _HeldWeakly):  # moto's reset puts back plain lists
        tracked = cls.instances_tracked = _HeldWeakly(tracked)
    tracked.append(instance)
    return instance


BaseModel.__new__ = staticmethod(_new_held_weakly)
# A freed S3 key copy closes its buffer on collection, where moto's reset would have: expected, not a leak.
warnings.filterwarnings("ignore", "S3 key was not disposed of in time", ResourceWarning)


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class _OneDynamoDBCallAtATime:
    """moto's DynamoDB transactions deep-copy whole tables and break when another request writes meanwhile
    ("dictionary changed size during iteration"): DynamoDB calls are served one at a time, as in one table."""

    def __init__(self, app) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class _StackMotoServer(ThreadedMotoServer):
    """moto's own server loop, with DynamoDB calls serialized and, unless asked, no line per AWS call."""

    def __init__(self, *args, log_requests: bool = False, access_control: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._handler = MotoRequestHandler if log_requests else _QuietRequestHandler
        self.app = _OneDynamoDBCallAtATime(DomainDispatcherApplication(create_backend_app))
        self.access_control = AccessControl(self.app) if access_control else None

    def _server_entry(self) -> None:
        app = self.access_control or self.app
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=self._handler)
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, log_requests: bool = False, access_control: bool = False
    ) -> None:
        if access_control:
            # Roles get AWS managed policies attached (AWSLambdaBasicExecutionRole, ...), as SAM writes them.
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        self._server = _StackMotoServer(
            ip_address=host,
            port=port,
            verbose=False,
            log_requests=log_requests,
            access_control=access_control,
        )
        self.access_control = self._server.access_control
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
