"""Each function's settings: read from the environment once, defaults as docs/architecture.md lists them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signing_core import settings
from signing_core.settings import (
    ApiSettings,
    CommonSettings,
    ConfigurationError,
    ReconcilerSettings,
    SignicatSettings,
    StartSettings,
    VerifierSettings,
    WorkerSettings,
)

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
REQUIRED = {
    "TABLE_NAME": "signings",
    "DOCUMENTS_BUCKET": "documents",
    "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/package-events",
    "SIGNICAT_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signicat",
    "TRUST_ROOTS_PARAMETER": "/esign/trust-roots",
}


def documented_variables() -> dict[str, str]:
    """Variable → its row's meaning, from the architecture page's table."""
    rows = re.findall(r"^\| `([A-Z_]+)` \|[^|]*\|[^|]*\| (.*) \|$", ARCHITECTURE.read_text(), re.MULTILINE)
    return dict(rows)


@pytest.fixture
def environment(monkeypatch):
    for name in documented_variables():
        monkeypatch.delenv(name, raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    yield monkeypatch
    settings.reset()


def test_defaults_are_the_documented_ones(environment):
    api = ApiSettings.from_env()
    common = CommonSettings.from_env()
    defaults = {
        "RETENTION_DAYS": common.retention_days,
        "EVENT_BUS_NAME": common.event_bus_name,
        "SIGNICAT_API_URL": api.start.signicat.api_url,
        "SIGNICAT_TOKEN_URL": api.start.signicat.token_url,
        "DEFAULT_LANGUAGE": api.start.default_language,
        "MAX_UPLOAD_BYTES": api.start.max_upload_bytes,
        "MAX_DOCUMENT_BYTES": api.max_document_bytes,
        "MAX_REQUEST_BYTES": api.max_request_bytes,
        "DOWNLOAD_URL_TTL_SECONDS": api.download_url_ttl_seconds,
        "RETRY_DELAY_SECONDS": WorkerSettings.from_env().retry_delay_seconds,
        "RECONCILE_AFTER_MINUTES": ReconcilerSettings.from_env().reconcile_after_minutes,
    }
    documented = documented_variables()
    for name, value in defaults.items():
        assert re.search(rf"default `?{re.escape(str(value))}`?", documented[name]), (name, value)
    assert api.start.default_identity_provider is None


@pytest.mark.parametrize(
    ("kind", "variable"),
    [
        (CommonSettings, "TABLE_NAME"),
        (SignicatSettings, "SIGNICAT_SECRET_ARN"),
        (StartSettings, "SIGNICAT_SECRET_ARN"),
        (ApiSettings, "DOCUMENTS_BUCKET"),
        (WorkerSettings, "DOCUMENTS_BUCKET"),
        (ReconcilerSettings, "QUEUE_URL"),
        (VerifierSettings, "TRUST_ROOTS_PARAMETER"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_a_missing_variable_is_named(environment, kind, variable):
    kind.from_env()
    environment.setenv(variable, "")
    with pytest.raises(ConfigurationError, match=f"environment variable {variable} is not set"):
        kind.from_env()


def test_a_malformed_number_is_named(environment):
    environment.setenv("MAX_DOCUMENT_BYTES", "lots")
    with pytest.raises(ConfigurationError, match="MAX_DOCUMENT_BYTES must be an integer"):
        ApiSettings.from_env()


def test_the_common_settings_are_read_once_until_reset(environment):
    first = settings.common()
    environment.setenv("TABLE_NAME", "another")
    assert settings.common() is first
    settings.reset()
    assert settings.common().table_name == "another"


def test_every_variable_the_settings_read_is_documented():
    source = (
        Path(settings.__file__).read_text(),
        Path(settings.__file__).with_name("webhook.py").read_text(),
    )
    read = set(re.findall(r'env(?:_int|_optional)?\("([A-Z_]+)"', "".join(source)))
    assert read == set(documented_variables()) - {"AWS_ENDPOINT_URL"}
