"""What template.yaml deploys is what the tests ran: the same Powertools, and answers that are what they claim."""

from __future__ import annotations

import json
import re

from local.gateway import DEFAULT_STATUS, api_settings, render_gateway_response
from local.rie import REPO
from local.template import load_template

TEMPLATE = load_template(REPO / "template.yaml")
GLOBALS = TEMPLATE.document["Globals"]["Function"]


def pinned(requirements: str, package: str) -> str:
    text = (REPO / requirements).read_text()
    (version,) = re.findall(rf"^{package}==(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
    return version


def test_the_powertools_layer_is_the_version_the_functions_run_offline():
    version = pinned("local/runtime-requirements.txt", "aws-lambda-powertools")
    (architecture,) = GLOBALS["Architectures"]
    parameter = TEMPLATE.document["Parameters"]["PowertoolsLayerArn"]

    assert {"Ref": "PowertoolsLayerArn"} in GLOBALS["Layers"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert (
        parameter["Default"]
        == f"/aws/service/powertools/python/{architecture}/{GLOBALS['Runtime']}/{version}"
    )
    assert pinned("requirements-dev.txt", "aws[-_]lambda[-_]powertools") == version  # and the unit tests run


def test_every_gateway_response_is_problem_json_with_the_status_api_gateway_sends():
    settings = api_settings(TEMPLATE)
    # A message as API Gateway may carry it: quotes, a backslash, a newline.
    message = (
        'User: arn:aws:sts::1:assumed-role/x is not authorized to perform: "execute-api:Invoke" \\ on\nit'
    )
    statuses = {**DEFAULT_STATUS, "DEFAULT_4XX": 400, "DEFAULT_5XX": 502}

    assert set(settings.gateway_responses) == set(statuses)
    for response_type, response in settings.gateway_responses.items():
        body = json.loads(
            render_gateway_response(response.templates["application/json"], response_type, message, "r-1")
        )
        assert response.status is None, (
            f"{response_type}: a StatusCode would change every other response's status"
        )
        assert response.headers == {"Content-Type": "application/problem+json"}, response_type
        assert body["status"] == statuses[response_type], response_type
        assert (body["detail"], body["code"], body["requestId"]) == (message, response_type, "r-1")
        assert body["type"] == "about:blank" and body["title"], response_type


def test_every_deploy_environment_keeps_iam_auth_and_names_its_profile_and_tags():
    from samcli.cli.types import CfnParameterOverridesType, CfnTags
    from samcli.lib.config.samconfig import SamConfig

    config = SamConfig(str(REPO))
    allowed = TEMPLATE.document["Parameters"]["ApiAuthType"]
    for environment in ("default", "dev", "prod"):
        deploy = config.get_all(["deploy"], "parameters", env=environment)
        overrides = CfnParameterOverridesType().convert(deploy["parameter_overrides"], None, None)
        tags = CfnTags().convert(deploy["tags"], None, None)

        assert overrides.get("ApiAuthType", allowed["Default"]) == "AWS_IAM", environment
        assert set(overrides) <= set(TEMPLATE.parameters), environment
        assert deploy["profile"] and tags["environment"] == environment and tags["project"] == "esign"
