"""Configuration read once from the environment, with errors that name what is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or malformed."""


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def env_optional(name: str) -> str | None:
    """A variable that may be absent or empty (an empty template parameter): None then."""
    return os.environ.get(name) or None


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class SignicatSettings:
    api_url: str
    token_url: str
    secret_id: str

    @classmethod
    def from_env(cls) -> SignicatSettings:
        return cls(
            api_url=env("SIGNICAT_API_URL", "https://api.signicat.com/sign").rstrip("/"),
            token_url=env("SIGNICAT_TOKEN_URL", "https://api.signicat.com/auth/open/connect/token"),
            secret_id=env("SIGNICAT_SECRET_ARN"),
        )
