"""The verifier's verdict on a signing's stored PAdES, kept on the signing item.

Beside the state machine, not part of it (as claims.py's storage claim): neither `version` nor `updatedAt`
changes, so a transition in flight is not refused for it, and a transition (which writes only what it changes)
keeps it. The verifier (layers/verification) is its one writer.
"""

from __future__ import annotations

from typing import Any

from signing_core import repository


def record(signing_id: str, verification: dict[str, Any]) -> bool:
    """Keep the verdict on the signing's stored PAdES (its `verification`); False when there is no such
    signing."""
    from botocore.exceptions import ClientError

    try:
        repository.table().update_item(
            Key=repository.key(signing_id),
            UpdateExpression="SET verification = :verification",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":verification": verification},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True
