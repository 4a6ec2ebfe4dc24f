"""What a SnapStart snapshot must not share between the execution environments restored from it.

Lambda initialises a published version once, snapshots its memory, and resumes every new environment from that
snapshot. Whatever the initialisation left in memory is then the same in all of them: the `random` module's state,
a Signicat access token and its open connections, boto3 clients with their resolved credentials and pooled
sockets, Powertools' cached secrets. `after_restore` forgets them, so each environment seeds its own random state
and makes its own token, connections, sessions and clients on first use. Ids need nothing: `uuid.uuid4` reads
`os.urandom`, which the kernel serves fresh in each environment.

The hooks are registered with `snapshot_restore_py`, which the Lambda Python runtime provides (its runtime
interface client depends on it). The runtime runs them only when the function is initialised for a snapshot
(`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`): in functions without SnapStart, and offline, registering changes
nothing. Before the snapshot, `before_snapshot` loads the modules the function defers to first use
(`signing_core.lazy_imports`), so that a restored environment has them in memory.
"""

from __future__ import annotations

import logging
import random
import sys

from signing_core import aws, clients, idempotency, lazy_imports

logger = logging.getLogger(__name__)


def after_restore() -> None:
    random.seed()  # from os.urandom: each restored environment draws its own sequence (backoff jitter)
    clients.reset()  # the Signicat client: its access token and its connection pool
    aws.reset()  # boto3 clients and the session that resolved their credentials
    idempotency.reset()  # its persistence layer holds a DynamoDB client
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters.base")
    if parameters is not None:  # loaded: it may hold the Signicat credentials and a Secrets Manager client
        parameters.clear_caches()
    logger.info("restored from a snapshot: random state, tokens, connections and clients renewed")


def before_snapshot() -> None:
    lazy_imports.load_all()  # a restored environment resumes with every use case loaded (SnapStart's priming)


def register() -> bool:
    """Run `before_snapshot` before the snapshot and `after_restore` after each restore; False outside Lambda's
    runtime (no `snapshot_restore_py`)."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
