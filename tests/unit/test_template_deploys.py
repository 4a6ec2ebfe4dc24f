"""What template.yaml deploys is what the tests ran: the same Powertools, and answers that are what they claim."""

from __future__ import annotations

import re

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
