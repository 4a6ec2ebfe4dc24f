"""The Sign API's access token: minted with the client credentials, cached until shortly before it expires,
minted again when Signicat refuses it.

Without `requests`: the client (signicat.py) hands in how a request is sent. Tokens and credentials are never logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from signing_core import tracing
from signing_core.settings import ConfigurationError
from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import json_object, token_lifetime

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

TOKEN_MARGIN_SECONDS = 30.0
SECRET_MAX_AGE_SECONDS = 300


class AccessTokens:
    """The token of one client. Calls run in threads (a start's uploads): the lock makes the calls that saw the
    same token refused mint one."""

    def __init__(
        self,
        token_url: str,
        credentials: Callable[[], tuple[str, str]],
        send: Callable[..., requests.Response],
        clock: Callable[[], float],
    ) -> None:
        self._token_url = token_url
        self._credentials = credentials
        self._send = send  # send(method, url, **kwargs): one request, transport failures as SignicatError
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def cached(self) -> str | None:
        """The token held now (None before the first call and once forgotten)."""
        return self._token

    def current(self, refused: str | None = None) -> str:
        """The cached token, minted anew when it expired or when it is the one Signicat just `refused`."""
        with self._lock:
            if self._token is None or self._token == refused or self._clock() >= self._expires_at:
                try:
                    with tracing.subsegment("Signicat POST token", operation="POST token"):
                        self._token, self._expires_at = self._mint()
                except SignicatError as error:
                    error.operation = "issuing an access token"
                    raise
            return self._token

    def forget(self) -> None:
        with self._lock:
            self._token, self._expires_at = None, 0.0

    def _mint(self) -> tuple[str, float]:
        issued_at = self._clock()
        client_id, client_secret = self._credentials()
        # The credentials in the form body, as Signicat's own SDK sends them.
        form = {
            "grant_type": "client_credentials",
            "scope": "signicat-api",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        response = self._send("POST", self._token_url, data=form)
        if not response.ok:
            raise SignicatError.from_response(response)
        answer: dict[str, Any] = json_object(response)
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise SignicatError(response.status_code, code="INVALID_TOKEN_RESPONSE", detail="no access_token")
        lifetime = token_lifetime(answer.get("expires_in"))
        log.info("minted a Signicat access token valid for %s s", lifetime)
        # Refresh early: 10 % of the lifetime, at most 30 s, so a token never expires in flight.
        return token, issued_at + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)


def credentials_from_secret(secret_id: str) -> tuple[str, str]:
    """Client id and secret from Secrets Manager, cached by Powertools for SECRET_MAX_AGE_SECONDS."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {secret_id} must be a JSON object with clientId and clientSecret")
    missing = [
        key for key in ("clientId", "clientSecret") if not isinstance(value.get(key), str) or not value[key]
    ]
    if missing:
        raise ConfigurationError(f"secret {secret_id} lacks {' and '.join(missing)}")
    return value["clientId"], value["clientSecret"]
