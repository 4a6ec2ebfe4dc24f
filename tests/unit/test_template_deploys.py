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


def test_each_function_has_the_powertools_layer_of_its_architecture_and_the_version_it_runs_offline():
    version = pinned("local/runtime-requirements.txt", "aws-lambda-powertools")
    parameters = TEMPLATE.document["Parameters"]
    by_architecture = {"arm64": "PowertoolsLayerArn", "x86_64": "PowertoolsX86LayerArn"}

    for architecture, name in by_architecture.items():
        assert parameters[name]["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert (
            parameters[name]["Default"]
            == f"/aws/service/powertools/python/{architecture}/{GLOBALS['Runtime']}/{version}"
        )
    for logical_id, function in TEMPLATE.resources_of_type("AWS::Serverless::Function").items():
        (architecture,) = function["Properties"].get("Architectures", GLOBALS["Architectures"])
        layers = function["Properties"].get("Layers", [])
        powertools = [layer["Ref"] for layer in layers if layer.get("Ref") in by_architecture.values()]
        assert powertools == [by_architecture[architecture]], logical_id
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


ALARM_TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears():
    alarms = TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm")
    conditions = TEMPLATE.document["Conditions"]

    assert len(alarms) >= 10
    for logical_id, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [ALARM_TOPIC], logical_id
        assert properties["OKActions"] == [ALARM_TOPIC], logical_id
        assert properties["TreatMissingData"] == "notBreaching", logical_id
    # A team's own topic replaces the stack's; an address is subscribed to whichever topic it is.
    assert conditions["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert TEMPLATE.resources["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    subscription = TEMPLATE.resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["TopicArn"] == ALARM_TOPIC


def test_every_dead_letter_queue_has_an_alarm():
    queues = TEMPLATE.resources_of_type("AWS::SQS::Queue")
    dead_letter_queues = {name for name in queues if "DeadLetter" in name}
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }

    assert dead_letter_queues == {
        "PackageDeadLetterQueue",
        "IntakeDeadLetterQueue",
        "ReconcilerDeadLetterQueue",
        "VerifierDeadLetterQueue",
        "StartDeadLetterQueue",
    }
    assert watched == dead_letter_queues


def test_alarms_and_dashboard_name_the_metrics_the_core_writes():
    from signing_core import metrics

    refusals = TEMPLATE.resources["WebhookRefusalsAlarm"]["Properties"]
    body = TEMPLATE.resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    written = {
        metrics.SIGNINGS_STARTED,
        *metrics.SIGNINGS_ENDED.values(),
        metrics.SIGN_TO_STORED,
        metrics.SIGNICAT_ERRORS,
        metrics.WEBHOOK_ACCEPTED,
        metrics.WEBHOOK_DUPLICATE,
        metrics.WEBHOOK_REFUSED,
        metrics.PACKAGE_EVENTS_DEFERRED,
    }

    assert (refusals["MetricName"], refusals["Namespace"]) == (
        metrics.WEBHOOK_REFUSED,
        {"Ref": "MetricsNamespace"},
    )
    assert refusals["Dimensions"] == [
        {"Name": "service", "Value": GLOBALS["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]}
    ]
    assert {name for name in written if f'"{name}' in body or f'\\"{name}\\"' in body} == written
    # Valid JSON once CloudFormation has substituted the names.
    json.loads(re.sub(r"\$\{[^}]+\}", "x", body))


def test_every_function_and_layer_is_arm64_and_the_api_runs_from_a_snapshot_behind_its_alias():
    api = TEMPLATE.resources["ApiFunction"]["Properties"]
    layer = TEMPLATE.resources["CoreLayer"]

    assert GLOBALS["Architectures"] == ["arm64"]
    # The one exception: the verifier's pyHanko layer is native code, built and tested offline for x86_64.
    assert {
        logical_id: f["Properties"].get("Architectures")
        for logical_id, f in TEMPLATE.resources_of_type("AWS::Serverless::Function").items()
        if "Architectures" in f["Properties"]
    } == {"VerifierFunction": ["x86_64"]}
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    # Every layer of ours a function uses is declared for the function's architecture.
    for function in TEMPLATE.functions.values():
        (architecture,) = TEMPLATE.resources[function.logical_id]["Properties"].get(
            "Architectures", GLOBALS["Architectures"]
        )
        for layer_id in TEMPLATE.layer_ids(function):
            compatible = TEMPLATE.resources[layer_id]["Properties"]["CompatibleArchitectures"]
            assert architecture in compatible, (function.logical_id, layer_id)
    assert api["SnapStart"] == {"ApplyOn": "PublishedVersions"} and api["AutoPublishAlias"]


def test_the_worker_trigger_is_bounded_and_the_reconciler_schedule_has_retries_and_a_dead_letter_queue():
    worker = TEMPLATE.resources["PackageWorkerFunction"]["Properties"]["Events"]["PackageEvents"][
        "Properties"
    ]
    reconciler = TEMPLATE.resources["ReconcilerFunction"]["Properties"]
    (schedule,) = reconciler["Events"].values()
    concurrency = TEMPLATE.document["Parameters"]["WorkerMaximumConcurrency"]

    assert worker["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerMaximumConcurrency"}}
    assert (concurrency["MinValue"], concurrency["MaxValue"]) == (2, 1000)  # what Lambda accepts
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    dead_letters = {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]}
    assert schedule["Properties"]["DeadLetterConfig"] == {"Arn": dead_letters}
    assert reconciler["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == dead_letters


def test_the_webhook_route_has_a_throttle_of_its_own_so_api_callers_cannot_crowd_out_signicat():
    (api,) = TEMPLATE.resources_of_type("AWS::Serverless::Api").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["Properties"]["MethodSettings"]}
    events = TEMPLATE.resources["WebhookFunction"]["Properties"]["Events"].values()
    # API Gateway names a method setting's resource with "/" escaped as "~1".
    routes = {("/" + e["Properties"]["Path"].replace("/", "~1"), e["Properties"]["Method"]) for e in events}

    assert len(routes) == 2 and set(settings) == {("/*", "*"), *routes}
    for route in routes:
        assert settings[route]["ThrottlingRateLimit"] == {"Ref": "WebhookThrottlingRateLimit"}, route
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
