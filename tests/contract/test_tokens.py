"""Access tokens: OAuth2 client credentials, scope signicat-api, a lifetime to cache them for."""

from __future__ import annotations

import pytest

from tests.contract.checks import assert_problem, upload


@pytest.mark.parametrize("credentials", ["basic", "form"])
def test_token_is_minted_for_client_credentials(target, credentials):
    """A token is minted with the client's id and secret as HTTP Basic (as the product sends them) or in the
    form body (as Signicat's SDK does), with a Bearer type and a lifetime of 1 to 3600 seconds."""
    answer = target.api.mint(in_body=credentials == "form")
    assert answer.status_code == 200, answer.status_code
    body = answer.json()
    assert isinstance(body.get("access_token"), str) and body["access_token"]
    assert str(body.get("token_type")).lower() == "bearer"
    assert isinstance(body.get("expires_in"), int) and 1 <= body["expires_in"] <= 3600, body.get("expires_in")
    listing = target.api.call("GET", "/signing-sessions", params={"limit": 1}, token=body["access_token"])
    assert listing.status_code == 200, listing.status_code


def test_token_is_refused_for_a_wrong_secret(target):
    """A wrong secret gets the OAuth2 error invalid_client (400 or 401, as RFC 6749 allows)."""
    answer = target.api.mint(auth=(target.client_id, "not-the-secret"))
    assert answer.status_code in (400, 401), answer.status_code
    assert answer.json().get("error") == "invalid_client"


def test_one_token_serves_many_calls(target):
    """The product's client mints one token and reuses it for every call within its lifetime."""
    http = target.recorder.session()
    token_requests = []

    def count(answer, *_args, **_kwargs):
        if answer.request.url == target.token_url:
            token_requests.append(answer.status_code)

    http.hooks["response"].append(count)
    client = target.client(http)
    document_id = upload(client)
    client.create_document_collection([document_id])
    client.list_signing_sessions(limit=1)
    with client.download_document(document_id) as body:
        body.read()
    assert token_requests == [200]


def test_unknown_token_is_refused_with_401_invalid_token(target):
    """A token the API does not know is refused with 401 and the problem code invalid_token: the answer on
    which the product's client mints a new token and repeats the call once."""
    answer = target.api.call("GET", "/signing-sessions", params={"limit": 1}, token="not-a-token")
    assert_problem(answer, 401, "invalid_token")
