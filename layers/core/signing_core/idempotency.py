"""Powertools idempotency on the signings table, set up on first use.

Importing Powertools' idempotency costs a cold start tens of milliseconds, and most invocations of the API
never need it: the decorated function builds it the first time it is called, with the product's own
DynamoDB client (Powertools would otherwise load a second boto3 session). Its refusals become domain errors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from signing_core import aws, settings
from signing_core.errors import Conflict, Unprocessable

# Each decorated function's Powertools set-up, built on first use (reset() forgets them).
_built: list[Any] = []


def reset() -> None:
    """Forget every set-up: the next call builds it again, with the DynamoDB client of that moment."""
    for built in _built:
        built.cache_clear()


def idempotent(
    *, data_keyword_argument: str, key: str, expires_after_seconds: int, payload: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the function once per `key` (a JMESPath into the data argument); repeats answer the first result."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @cache
        def built() -> tuple[Any, Callable[..., Any]]:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            config = IdempotencyConfig(
                event_key_jmespath=key,
                payload_validation_jmespath=payload,
                expires_after_seconds=expires_after_seconds,
            )
            persistence = DynamoDBPersistenceLayer(
                table_name=settings.common().table_name,
                key_attr="pk",
                sort_key_attr="sk",
                expiry_attr="expiration",
                boto3_client=aws.client("dynamodb"),
            )
            once = idempotent_function(
                data_keyword_argument=data_keyword_argument, persistence_store=persistence, config=config
            )(function)
            return config, once

        _built.append(built)

        @wraps(function)
        def call(*, lambda_context: Any = None, **arguments: Any) -> Any:
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
                IdempotencyValidationError,
            )

            config, once = built()
            if lambda_context is not None:
                config.register_lambda_context(lambda_context)
            try:
                return once(**arguments)
            except IdempotencyValidationError:
                raise Unprocessable(
                    "this idempotency key was used with a different request", code="IDEMPOTENCY_KEY_REUSED"
                ) from None
            except IdempotencyAlreadyInProgressError:
                raise Conflict(
                    "a request with this idempotency key is in progress; retry shortly", code="IN_PROGRESS"
                ) from None

        return call

    return decorate
