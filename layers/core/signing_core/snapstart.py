"""What a SnapStart snapshot must not share between the execution environments restored from it.

Lambda initialises a published version once, snapshots its memory, and resumes every new environment from that
snapshot. Whatever the initialisation left in memory is then the same in all of them: the `random` module's state,
a Signicat access token and its open connections, boto3 clients with their resolved credentials and pooled
sockets, Powertools' cached secrets. `after_restore` forgets them, so each environment seeds its own random state
and makes its own token, connections, sessions and clients on first use. Ids need nothing: `uuid.uuid4` reads
`os.urandom`, which the kernel serves fresh in each environment.

The hook is registered with the Lambda runtime's `snapshot_restore_python` module, which exists only in the
Lambda Python runtime: offline (and in functions without SnapStart) `register` finds none and does nothing.
"""

from __future__ import annotations

import logging
import random
import sys

from signing_core import aws, clients, idempotency

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


def register() -> bool:
    """Run `after_restore` after each restore from a snapshot; False where there are no snapshots."""
    try:
        from snapshot_restore_python import register_after_restore
    except ImportError:
        return False
    register_after_restore(after_restore)
    return True
