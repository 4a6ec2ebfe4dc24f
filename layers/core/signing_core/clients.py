"""The Sign API client, one per container and settings (it holds the token and the connection pool), built on
first use.

The one place that imports the client: it loads `requests`, which only the functions that call Signicat
pay for, and only when they first do.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signing_core.settings import SignicatSettings
    from signing_core.signicat import SignicatClient


_made: list[SignicatClient] = []


@cache
def signicat(settings: SignicatSettings) -> SignicatClient:
    from signing_core.signicat import SignicatClient

    client = SignicatClient.from_settings(settings)
    _made.append(client)
    return client


def reset() -> None:
    """Forget the clients, closing their connections: the next call makes a new token and a new pool."""
    for client in _made:
        client.close()
    _made.clear()
    signicat.cache_clear()
