from tests.emulator.conftest import CLIENT_ID, CLIENT_SECRET, Api, http

GRANT = {"grant_type": "client_credentials", "scope": "signicat-api"}


def token_url(api: Api) -> str:
    return f"{api.base}/auth/open/connect/token"


def test_token_granted_with_http_basic_credentials(api):
    answer = http("POST", token_url(api), data=GRANT, auth=(CLIENT_ID, CLIENT_SECRET))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "signicat-api"
    assert body["access_token"]


def test_token_granted_with_credentials_in_the_form_body(api):
    form = {**GRANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    answer = http("POST", token_url(api), data=form)
    assert answer.status_code == 200
    assert api.call(
        "GET", "/sign/signing-sessions", headers={"Authorization": "Bearer " + answer.json()["access_token"]}
    ).ok


def test_token_lifetime_is_configurable(make_emulator):
    server = make_emulator(token_lifetime=60)
    answer = http(
        "POST", f"{server.url}/auth/open/connect/token", data=GRANT, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert answer.json()["expires_in"] == 60


def test_token_refused_for_a_wrong_secret(api):
    answer = http("POST", token_url(api), data=GRANT, auth=(CLIENT_ID, "wrong"))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_token_refused_for_another_grant_type(api):
    form = {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    answer = http("POST", token_url(api), data=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_token_refused_for_an_unknown_scope(api):
    answer = http("POST", token_url(api), data={**GRANT, "scope": "admin"}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_api_call_without_a_token_is_401_problem(api):
    answer = http("GET", f"{api.base}/sign/signing-sessions")
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 401
    assert answer.json()["code"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_call_with_an_unknown_token_is_401(api):
    answer = api.call("GET", "/sign/signing-sessions", headers={"Authorization": "Bearer forged"})
    assert answer.status_code == 401


def test_token_expires_after_its_lifetime(make_emulator, clock):
    server = make_emulator(clock=clock, token_lifetime=600)
    api = Api(server.url)
    api.get_token()
    clock.advance(seconds=599)
    assert api.call("GET", "/sign/signing-sessions").status_code == 200
    clock.advance(seconds=1)
    answer = api.call("GET", "/sign/signing-sessions")
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]
