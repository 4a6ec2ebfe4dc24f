"""Webhook authentication: the secret in the URL's path, HMAC signatures in every accepted form, shared tokens,
secrets and their cache."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from signing_core.settings import ConfigurationError
from signing_core.webhook_auth import (
    SecretCache,
    Unauthenticated,
    authenticate,
    header,
    parse_secrets,
    sign,
    verify_hmac,
    verify_token,
)

BODY = b'{"id":"evt-1","eventName":"package.completed","eventData":{"id":"session-1"}}'
SECRET = "current-secret-of-the-webhook-0001"  # 34 URL-safe characters: usable in url mode too
OLD_SECRET = "previous-secret-of-the-webhook-001"


def digest(body: bytes = BODY, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def test_hmac_accepts_hex_signature():
    assert verify_hmac(BODY, digest().hex(), [SECRET])


def test_hmac_accepts_uppercase_hex_signature():
    assert verify_hmac(BODY, digest().hex().upper(), [SECRET])


def test_hmac_accepts_sha256_prefixed_signature():
    assert verify_hmac(BODY, "sha256=" + digest().hex(), [SECRET])


def test_hmac_accepts_base64_signature():
    assert verify_hmac(BODY, base64.b64encode(digest()).decode(), [SECRET])


def test_hmac_accepts_unpadded_urlsafe_base64_signature():
    assert verify_hmac(BODY, base64.urlsafe_b64encode(digest()).decode().rstrip("="), [SECRET])


def test_sign_produces_a_signature_verify_accepts():
    assert verify_hmac(BODY, sign(BODY, SECRET), [SECRET])


def test_hmac_refuses_signature_made_with_another_secret():
    assert not verify_hmac(BODY, digest(secret="someone-else").hex(), [SECRET])


def test_hmac_refuses_tampered_body():
    tampered = BODY.replace(b"session-1", b"session-2")
    assert not verify_hmac(tampered, digest().hex(), [SECRET])


@pytest.mark.parametrize(
    "signature",
    [digest().hex()[:-2], base64.b64encode(digest()[:-1]).decode(), "sha256=" + digest().hex()[:32]],
    ids=["hex", "base64", "prefixed"],
)
def test_hmac_refuses_truncated_signature(signature):
    assert not verify_hmac(BODY, signature, [SECRET])


@pytest.mark.parametrize("signature", [None, "", "sha256=", "not a signature", "z" * 64])
def test_hmac_refuses_missing_or_malformed_signature(signature):
    assert not verify_hmac(BODY, signature, [SECRET])


def test_hmac_accepts_either_secret_during_rotation():
    secrets = [SECRET, OLD_SECRET]
    assert verify_hmac(BODY, digest(secret=SECRET).hex(), secrets)
    assert verify_hmac(BODY, digest(secret=OLD_SECRET).hex(), secrets)
    assert not verify_hmac(BODY, digest(secret="retired").hex(), secrets)


def test_empty_secret_list_refuses_every_signature_and_token():
    assert not verify_hmac(BODY, digest().hex(), [])
    assert not verify_token(SECRET, [])
    assert not verify_token("", [""])


def test_token_accepts_the_secret_and_refuses_others():
    assert verify_token(SECRET, [OLD_SECRET, SECRET])
    assert not verify_token(SECRET + "x", [SECRET])
    assert not verify_token(SECRET[:-1], [SECRET])
    assert not verify_token(None, [SECRET])


def test_token_refuses_non_ascii_input_without_error():
    assert not verify_token("sécret\udcff", [SECRET])


def test_header_lookup_ignores_case():
    headers = {"x-signicat-signature": "abc"}
    assert header(headers, "X-Signicat-Signature") == "abc"
    assert header({"X-SIGNICAT-SIGNATURE": "abc"}, "x-signicat-signature") == "abc"
    assert header(None, "X-Signicat-Signature") is None


def authenticate_with(
    mode: str, headers=None, query=None, body: bytes = BODY, path_secret=None, secrets=(SECRET,)
) -> None:
    authenticate(
        mode=mode,
        body=body,
        headers=headers,
        query=query,
        path_secret=path_secret,
        secrets=list(secrets),
        signature_header="X-Signicat-Signature",
        token_header="X-Webhook-Token",
    )


def test_url_mode_accepts_the_secret_as_the_urls_path_segment_and_every_secret_of_a_rotation():
    authenticate_with("url", path_secret=SECRET, secrets=(SECRET, OLD_SECRET))
    authenticate_with("url", path_secret=OLD_SECRET, secrets=(SECRET, OLD_SECRET))


@pytest.mark.parametrize(
    "path_secret",
    [None, "", SECRET[:-1], SECRET + "0", SECRET.upper(), " " + SECRET, "sécret\udcff"],
    ids=["none", "empty", "prefix", "longer", "other-case", "leading-space", "non-ascii"],
)
def test_url_mode_refuses_any_other_path_segment(path_secret):
    with pytest.raises(Unauthenticated):
        authenticate_with("url", path_secret=path_secret)


def test_url_mode_takes_no_credential_from_headers_or_the_query():
    with pytest.raises(Unauthenticated):
        authenticate_with(
            "url",
            headers={"X-Webhook-Token": SECRET, "X-Signicat-Signature": digest().hex()},
            query={"token": SECRET},
        )


@pytest.mark.parametrize(
    "weak", ["short-secret", "a" * 31, "has/a/slash-" + "a" * 32, "has a space " + "a" * 32, "é" * 40]
)
def test_url_mode_refuses_every_delivery_while_a_secret_cannot_be_a_path_segment(weak):
    """Fail closed: a short or unroutable secret is a configuration error, whatever the delivery says."""
    with pytest.raises(ConfigurationError) as refused:
        authenticate_with("url", path_secret=weak, secrets=(SECRET, weak))
    assert weak not in str(refused.value)


def test_hmac_and_token_modes_do_not_read_the_path():
    with pytest.raises(Unauthenticated):
        authenticate_with("hmac", path_secret=SECRET)
    with pytest.raises(Unauthenticated):
        authenticate_with("token", path_secret=SECRET)
    authenticate_with("hmac", headers={"X-Signicat-Signature": digest().hex()}, path_secret="anything")


def test_hmac_mode_reads_the_signature_header_in_any_case():
    authenticate_with("hmac", headers={"x-signicat-signature": digest().hex()})


def test_hmac_mode_refuses_a_token_in_place_of_a_signature():
    with pytest.raises(Unauthenticated):
        authenticate_with("hmac", headers={"X-Webhook-Token": SECRET}, query={"token": SECRET})


def test_token_mode_accepts_the_token_header_in_any_case():
    authenticate_with("token", headers={"x-webhook-token": SECRET})


def test_token_mode_accepts_the_token_query_parameter():
    authenticate_with("token", query={"token": SECRET})


def test_token_mode_refuses_a_wrong_token():
    with pytest.raises(Unauthenticated):
        authenticate_with("token", headers={"X-Webhook-Token": "guess"})


def test_token_mode_refuses_a_request_without_token():
    with pytest.raises(Unauthenticated):
        authenticate_with("token", headers={}, query={})


def test_unauthenticated_detail_does_not_reveal_the_secret():
    with pytest.raises(Unauthenticated) as refused:
        authenticate_with("hmac", headers={"X-Signicat-Signature": digest(secret="x").hex()})
    assert SECRET not in str(refused.value)
    assert refused.value.status == 401


def test_unknown_mode_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        authenticate_with("none", headers={"X-Signicat-Signature": digest().hex()})


def test_parse_secrets_reads_a_json_list():
    assert parse_secrets('{"secrets": ["a", "b"]}') == ("a", "b")


def test_parse_secrets_reads_a_plain_string_as_one_secret():
    assert parse_secrets("local-webhook-secret\n") == ("local-webhook-secret",)


def test_parse_secrets_drops_empty_entries():
    assert parse_secrets('{"secrets": ["", "a"]}') == ("a",)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        '{"secrets": []}',
        '{"secrets": [""]}',
        '{"secrets": "a"}',
        '{"other": 1}',
        "{broken",
        '{"secrets": [1]}',
    ],
)
def test_parse_secrets_refuses_values_without_usable_secrets(raw):
    with pytest.raises(ConfigurationError):
        parse_secrets(raw)


def test_parse_secrets_errors_never_contain_the_value():
    with pytest.raises(ConfigurationError) as refused:
        parse_secrets('{"secrets": ["hunter2", 5]}')
    assert "hunter2" not in str(refused.value)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_secret_cache_fetches_once_within_its_lifetime():
    fetched = []
    clock = Clock()
    cache = SecretCache(lambda: fetched.append(1) or "one", ttl=300, clock=clock)
    assert cache.get() == ("one",)
    clock.now += 299
    assert cache.get() == ("one",)
    assert len(fetched) == 1


def test_secret_cache_picks_up_a_rotation_after_its_lifetime():
    values = iter(["old", '{"secrets": ["new", "old"]}'])
    clock = Clock()
    cache = SecretCache(lambda: next(values), ttl=300, clock=clock)
    assert cache.get() == ("old",)
    clock.now += 300
    assert cache.get() == ("new", "old")


def test_secret_cache_does_not_keep_a_failed_fetch():
    attempts = iter([RuntimeError("unavailable"), "ok"])

    def fetch() -> str:
        value = next(attempts)
        if isinstance(value, Exception):
            raise value
        return value

    cache = SecretCache(fetch, clock=Clock())
    with pytest.raises(RuntimeError):
        cache.get()
    assert cache.get() == ("ok",)
