"""What the contract suite runs against, read once from the environment (docs/contract-suite.md).

The emulator is always a target. `SIGNICAT_SANDBOX=1` adds Signicat's sandbox, reached with the account's API
client; the emulator still runs in the same session, so every behaviour has a result on both.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

EMULATOR, SANDBOX = "emulator", "sandbox"
TOKEN_PATH = "/auth/open/connect/token"  # nosec B105 - a URL path, not a secret
DEFAULT_REPORT = Path("out/contract-report.json")
# Signicat's own integration guide signs with the Finnish Trust Network; an account may offer others.
DEFAULT_IDENTITY_PROVIDER = "ftn"
DEFAULT_PATIENCE_SECONDS = 180.0  # how long the sandbox may take to package or to show a signature
DEFAULT_HELPER_TIMEOUT_SECONDS = 600.0  # a helper may wait for a person
REQUIRED = ("SIGNICAT_CLIENT_ID", "SIGNICAT_CLIENT_SECRET", "SIGNICAT_API_URL")
TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


@dataclass(frozen=True)
class SandboxSettings:
    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    identity_provider: str
    signing_helper: tuple[str, ...]  # the command that signs a session; empty: none configured
    helper_timeout: float
    patience: float


@dataclass(frozen=True)
class ContractSettings:
    sandbox: SandboxSettings | None
    report_path: Path | None  # where the report goes; None: no report

    @property
    def targets(self) -> list[str]:
        return [EMULATOR, SANDBOX] if self.sandbox else [EMULATOR]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ContractSettings:
        """Raises ValueError naming every variable that is missing or wrong."""
        sandbox = _sandbox(env) if _flag(env, "SIGNICAT_SANDBOX") else None
        report = env.get("SIGNICAT_CONTRACT_REPORT") or (str(DEFAULT_REPORT) if sandbox else "")
        return cls(sandbox=sandbox, report_path=Path(report) if report else None)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in TRUE + FALSE:
        raise ValueError(f"{name} must be 1 or 0, got {env[name]!r}")
    return value in TRUE


def _sandbox(env: Mapping[str, str]) -> SandboxSettings:
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise ValueError(f"SIGNICAT_SANDBOX=1 needs {', '.join(missing)}")
    api_url = env["SIGNICAT_API_URL"].rstrip("/")
    token_url = env.get("SIGNICAT_TOKEN_URL") or _origin(api_url) + TOKEN_PATH
    for name, url in (("SIGNICAT_API_URL", api_url), ("SIGNICAT_TOKEN_URL", token_url)):
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"{name} must be an http(s) URL, got {url!r}")
    return SandboxSettings(
        api_url=api_url,
        token_url=token_url,
        client_id=env["SIGNICAT_CLIENT_ID"],
        client_secret=env["SIGNICAT_CLIENT_SECRET"],
        identity_provider=env.get("SIGNICAT_CONTRACT_IDP") or DEFAULT_IDENTITY_PROVIDER,
        signing_helper=tuple(shlex.split(env.get("SIGNICAT_SIGNING_HELPER", ""))),
        helper_timeout=_seconds(env, "SIGNICAT_SIGNING_HELPER_TIMEOUT", DEFAULT_HELPER_TIMEOUT_SECONDS),
        patience=_seconds(env, "SIGNICAT_CONTRACT_PATIENCE", DEFAULT_PATIENCE_SECONDS),
    )


def _origin(url: str) -> str:
    """https://api.signicat.com/sign -> https://api.signicat.com: Signicat's token endpoint sits beside the API."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"{name} must be a number of seconds above 0, got {raw!r}")
    return value
