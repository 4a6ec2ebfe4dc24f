import base64
import json
import threading

import pytest
import requests

from local.gateway import ApiSettings, Gateway, Route, api_settings, routes_from_template
from local.rie import REPO, FunctionError
from local.template import load_template

ROUTES = [
    Route("/signings", "POST", "Api"),
    Route("/signings/{signingId}", "GET", "Api"),
    Route("/files/{proxy+}", "ANY", "Files"),
    Route("/webhooks/signicat", "POST", "Webhook"),
]


class FakeFunctions:
    """Records each event and answers with whatever the test sets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.result: object = {"statusCode": 200, "body": "{}"}

    def invoke(self, function: str, event: dict):
        self.calls.append((function, event))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.fixture
def functions():
    return FakeFunctions()


@pytest.fixture
def gateway(functions):
    threads_before = set(threading.enumerate())
    settings = ApiSettings(stage="v1", binary_media_types=("application/pdf", "image/*"))
    with Gateway(ROUTES, functions.invoke, settings=settings) as front:
        yield front
    assert {t for t in threading.enumerate() if t.name == "gateway"} <= threads_before


def test_path_parameters_query_strings_and_headers_become_a_rest_proxy_event(gateway, functions):
    requests.get(
        f"{gateway.url}/signings/abc%20123?view=full&tag=a&tag=b",
        headers={"X-Trace": "t1", "User-Agent": "tests"},
        timeout=5,
    )
    function, event = functions.calls[0]
    assert function == "Api"
    assert event["resource"] == "/signings/{signingId}"
    assert event["path"] == "/signings/abc 123"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"signingId": "abc 123"}
    assert event["queryStringParameters"] == {"view": "full", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"view": ["full"], "tag": ["a", "b"]}
    assert event["headers"]["X-Trace"] == "t1"
    assert event["multiValueHeaders"]["X-Trace"] == ["t1"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "v1"
    assert context["path"] == "/v1/signings/abc 123"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "tests"
    assert context["requestId"]


def test_a_request_without_query_or_path_parameters_has_nulls_there(gateway, functions):
    requests.post(f"{gateway.url}/signings", json={"title": "x"}, timeout=5)
    _, event = functions.calls[0]
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert json.loads(event["body"]) == {"title": "x"}
    assert event["isBase64Encoded"] is False


def test_binary_media_type_body_arrives_base64_encoded(gateway, functions):
    pdf = b"%PDF-1.7\n\xff\xfe binary"
    requests.post(
        f"{gateway.url}/files/a/b.pdf", data=pdf, headers={"Content-Type": "application/pdf"}, timeout=5
    )
    function, event = functions.calls[0]
    assert function == "Files"
    assert event["pathParameters"] == {"proxy": "a/b.pdf"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == pdf


def test_proxy_result_becomes_the_http_response(gateway, functions):
    functions.result = {
        "statusCode": 201,
        "headers": {"Location": "/signings/1", "Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": '{"id": "1"}',
    }
    response = requests.post(f"{gateway.url}/signings", data="{}", timeout=5)
    assert response.status_code == 201
    assert response.headers["Location"] == "/signings/1"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.json() == {"id": "1"}


def test_base64_proxy_result_is_decoded(gateway, functions):
    functions.result = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/pdf"},
        "body": base64.b64encode(b"%PDF\xff").decode(),
        "isBase64Encoded": True,
    }
    response = requests.get(f"{gateway.url}/files/x.pdf", timeout=5)
    assert response.content == b"%PDF\xff"
    assert response.headers["Content-Type"] == "application/pdf"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/signings")])
def test_unknown_route_or_method_answers_missing_authentication_token(gateway, functions, method, path):
    response = requests.request(method, f"{gateway.url}{path}", timeout=5)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert functions.calls == []


@pytest.mark.parametrize(
    "result", [FunctionError("Api", {"errorType": "E", "errorMessage": "m"}), {"body": "x"}]
)
def test_function_error_or_malformed_result_answers_502(gateway, functions, result):
    functions.result = result
    response = requests.post(f"{gateway.url}/signings", data="{}", timeout=5)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_body_over_the_limit_answers_413(functions):
    with Gateway(ROUTES, functions.invoke, max_body_bytes=10) as front:
        response = requests.post(f"{front.url}/signings", data="x" * 11, timeout=5)
    assert response.status_code == 413
    assert functions.calls == []


def test_routes_and_api_settings_come_from_the_template(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(
        """
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: v2, BinaryMediaTypes: [application~1pdf]}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f
      Handler: app.handler
      Events:
        One: {Type: Api, Properties: {Path: "/x/{id}", Method: get, RestApiId: !Ref Api}}
"""
    )
    template = load_template(path)
    assert routes_from_template(template) == [Route("/x/{id}", "GET", "Fn")]
    assert api_settings(template) == ApiSettings("v2", ("application/pdf",))


def test_the_gateways_own_answers_are_the_templates_gateway_responses(functions):
    settings = api_settings(load_template(REPO / "template.yaml"))
    with Gateway(ROUTES, functions.invoke, settings=settings, max_body_bytes=10) as front:
        unknown = requests.get(f"{front.url}/nowhere", timeout=5)
        too_large = requests.post(f"{front.url}/signings", data="x" * 11, timeout=5)
        functions.result = {"body": "no status code"}
        failed = requests.post(f"{front.url}/signings", data="{}", timeout=5)

    for response, status, code in (
        (unknown, 403, "MISSING_AUTHENTICATION_TOKEN"),
        (too_large, 413, "REQUEST_TOO_LARGE"),
        (failed, 502, "DEFAULT_5XX"),
    ):
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == status and response.json()["code"] == code
