"""The whole product offline: moto server, the template's resources and secrets, the Sign API v2 emulator
(or a real Signicat account), every function under the Lambda runtime emulator, the HTTP front, and the
event sources. Wiring is read from template.yaml, so a function added there is picked up here.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import os
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3

from local.aws_resources import NAME_PROPERTIES, Resources, create_resources
from local.gateway import Gateway, api_settings, routes_from_template
from local.lambda_api import LambdaApi
from local.moto import MotoServer
from local.rie import BUILD_DIR, REPO, RUNTIME_PYTHON, RieFunction, RuntimeMissing, spec_from_template
from local.roles import ExecutionRole, assume_role, create_role, execution_roles, iam_user
from local.schedule_source import start_schedule_source
from local.sqs_source import SqsEventSource
from local.template import (
    ApiEvent,
    Function,
    Resolver,
    S3Event,
    ScheduleEvent,
    SqsEvent,
    Template,
    load_template,
)

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/signicat"  # hmac and token mode: the URL carries no secret
SECRET_WEBHOOK_PATH = WEBHOOK_PATH + "/{secret}"  # url mode (the default): the secret is the last segment
URL_MODE = "url"
# What the webhook function accepts as a secret in its URL (signing_core.webhook_auth.URL_SECRET).
URL_SECRET = re.compile(r"[A-Za-z0-9._~-]{32,}")
DEFAULT_REGION = "eu-west-1"
SIGNICAT_TOKEN_URL = "https://api.signicat.com/auth/open/connect/token"  # noqa: S105  # nosec B105 - a URL
ACCOUNT_ID = "123456789012"
# Before access control is on, moto takes any key: the stack creates its users with these.
BOOTSTRAP_CREDENTIALS = {"aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap"}  # nosec B105
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
LAMBDA_SERVICE = "lambda.amazonaws.com"


class StackError(RuntimeError):
    """The offline stack cannot start as configured."""


@dataclasses.dataclass(frozen=True)
class Signicat:
    """Where the functions reach Signicat, and the secrets both sides share."""

    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    webhook_secret: str


def signicat_from_environment(environ: Mapping[str, str]) -> Signicat:
    """A real (or other) Signicat named by SIGNICAT_* variables; every one but the token URL is required."""
    missing = [
        name
        for name in (
            "SIGNICAT_API_URL",
            "SIGNICAT_CLIENT_ID",
            "SIGNICAT_CLIENT_SECRET",
            "SIGNICAT_WEBHOOK_SECRET",
        )
        if not environ.get(name)
    ]
    if missing:
        raise StackError(f"SIGNICAT_API_URL is set, so these are needed too: {', '.join(missing)}")
    return Signicat(
        api_url=environ["SIGNICAT_API_URL"].rstrip("/"),
        token_url=environ.get("SIGNICAT_TOKEN_URL") or SIGNICAT_TOKEN_URL,
        client_id=environ["SIGNICAT_CLIENT_ID"],
        client_secret=environ["SIGNICAT_CLIENT_SECRET"],
        webhook_secret=environ["SIGNICAT_WEBHOOK_SECRET"],
    )


class LocalStack:
    """Start with `with LocalStack() as stack:`; `stack.info` is what out/stack.json holds."""

    def __init__(
        self,
        *,
        template_path: Path = REPO / "template.yaml",
        build_dir: Path = BUILD_DIR,
        out_dir: Path = REPO / "out",
        region: str = DEFAULT_REGION,
        parameters: Mapping[str, str] | None = None,
        python: Path = RUNTIME_PYTHON,
        environ: Mapping[str, str] | None = None,
        emulator_config: Any = None,
        concurrency: int | Mapping[str, int] = 1,
        prefix: str = "local",
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.template: Template = load_template(template_path)
        if overrides:
            self.template = with_overrides(self.template, overrides, Path(out_dir))
        self.build_dir = Path(build_dir)
        self.out_dir = Path(out_dir)
        self.region = region
        self.prefix = prefix
        self._parameters = dict(parameters or {})
        self._python = Path(python)
        self._environ = os.environ if environ is None else environ
        self._emulator_config = emulator_config
        self._concurrency = concurrency
        self._exit = contextlib.ExitStack()
        self.moto: MotoServer | None = None
        self.resources: Resources | None = None
        self.emulator: Any = None
        self.signicat: Signicat | None = None
        self.gateway: Gateway | None = None
        self.lambda_api: LambdaApi | None = None
        self.functions: dict[str, RieFunction] = {}
        self.sources: list[Any] = []
        self.info: dict[str, Any] = {}
        # CloudFormation's stack id; its last part names the documents bucket (the same for the same prefix).
        self.stack_id = f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{prefix}/{uuid.uuid5(uuid.NAMESPACE_URL, prefix)}"
        self.admin_credentials: dict[str, str] = {}
        self._lambda_credentials: dict[str, str] = {}
        self.credentials: dict[str, dict[str, str]] = {}  # each function's, from its role
        self.roles: dict[str, str] = {}  # each function's role ARN
        self.registered_webhook_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        self._preflight()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything in reverse order of starting; every stop runs even if one fails."""
        self._exit.close()
        self.functions.clear()
        self.sources.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start(self) -> None:
        self.moto = self.start_component(MotoServer(access_control=True))
        # moto keeps its state per process, not per server: forget it, so a next stack starts empty.
        self._exit.callback(self.moto.reset)
        self._start_access_control()
        session = self.session()
        # The gateway binds its port now and serves later: the emulator needs the webhook URL first.
        self.gateway = Gateway(
            routes_from_template(self.template), self.invoke, settings=api_settings(self.template)
        )
        self._exit.callback(self.gateway.stop)
        self.signicat = self._start_signicat()
        # The template's own switch points the functions at moto, as it points `sam local` at the stack.
        parameters = {
            "AwsEndpointUrl": self.moto.endpoint_url,
            **self._signicat_parameters(session),
            **self._parameters,
        }
        self.resources = create_resources(
            session,
            prefix=self.prefix,
            template=self.template.document,
            endpoint_url=self.moto.endpoint_url,
            names=self._names(self._resolver({}, parameters)),
        )
        resolver = self._resolver(self._physical(), parameters)
        roles = execution_roles(self.template, self.template.parameter_values(parameters), self.region)
        for function in self.template.functions.values():
            self.credentials[function.logical_id] = self._assume(roles[function.logical_id], resolver)
            self.functions[function.logical_id] = self._start_function(
                function, resolver.environment(function)
            )
        self.gateway.start()
        self._exit.callback(self.gateway.stop)  # again, so it stops serving before the functions stop
        self.lambda_api = self.start_component(LambdaApi(self.invoke, list(self.functions)))
        self._start_event_sources(resolver)
        self.info = self._describe()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "stack.json").write_text(json.dumps(self.info, indent=2) + "\n")
        # `sam local invoke --env-vars out/env.json`: each function's variables as this stack resolved them.
        environments = {name: dict(runner.spec.environment) for name, runner in self.functions.items()}
        (self.out_dir / "env.json").write_text(json.dumps(environments, indent=2) + "\n")

    def _resolver(self, physical: Mapping[str, Any], parameters: Mapping[str, str]) -> Resolver:
        return Resolver(
            self.template,
            physical,
            region=self.region,
            parameters=parameters,
            account_id=ACCOUNT_ID,
            stack_name=self.prefix,
            stack_id=self.stack_id,
        )

    # -- IAM -------------------------------------------------------------------------------------

    def _start_access_control(self) -> None:
        """An administrator for people and tests, and a stand-in for the Lambda service that assumes the
        functions' roles; then every request must be signed by a known key and allowed by IAM."""
        assert self.moto is not None and self.moto.access_control is not None
        iam = boto3.client(
            "iam", endpoint_url=self.moto.endpoint_url, region_name=self.region, **BOOTSTRAP_CREDENTIALS
        )
        self.admin_credentials = iam_user(iam, f"{self.prefix}-admin", managed=ADMIN_POLICY_ARN)
        assume = {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ACCOUNT_ID}:role/*",
        }
        lambda_user = f"{self.prefix}-lambda-service"
        self._lambda_credentials = iam_user(
            iam, lambda_user, inline={"Version": "2012-10-17", "Statement": [assume]}
        )
        self.moto.access_control.service_principals[f"arn:aws:iam::{ACCOUNT_ID}:user/{lambda_user}"] = (
            LAMBDA_SERVICE
        )
        self.moto.access_control.enable()

    def _assume(self, role: ExecutionRole, resolver: Resolver) -> dict[str, str]:
        """Create the function's role as SAM wrote it, and take its credentials as Lambda does."""
        arn = create_role(self.client("iam"), role, f"{self.prefix}-{role.logical_id}"[:64], resolver.resolve)
        self.roles[role.function] = arn
        return assume_role(self._client("sts", self._lambda_credentials), arn, role.function[:64])

    def _start_event_sources(self, resolver: Resolver) -> None:
        """Drive each function's non-API events with the source EVENT_SOURCES names for its type."""
        for function in self.template.functions.values():
            for event in function.events:
                if isinstance(event, ApiEvent) or not getattr(event, "enabled", True):
                    continue  # API events are the gateway's
                starter = EVENT_SOURCES.get(type(event))
                if starter is None:
                    log.warning(
                        "%s: %s events are not emulated offline", function.logical_id, type(event).__name__
                    )
                    continue
                self.sources.append(starter(self, function, event, resolver))
        # Runs first on stop: every poller finishes its current wait, and every runtime emulator gets its SIGTERM,
        # at once rather than one after the other (a stop then takes seconds, not seconds per process).
        self._exit.callback(self._request_stop)

    def _request_stop(self) -> None:
        for source in self.sources:
            source.request_stop()
        for runner in self.functions.values():
            runner.request_stop()

    def start_component(self, component: Any) -> Any:
        """Start a piece and register its stop() to run, in reverse order, when the stack stops."""
        component.start()
        self._exit.callback(component.stop)
        return component

    def _preflight(self) -> None:
        """Fail before starting anything when the build or the runtime is missing, or the webhook cannot be
        reached the way the template's WebhookAuthMode says."""
        if not self._python.exists():
            raise RuntimeMissing(f"{self._python} not found: run `make runtime` first")
        for function in self.template.functions.values():
            spec_from_template(self.template, function, {}, self.build_dir)
        route = self._webhook_route()
        if not any(r.path == route for r in routes_from_template(self.template)):
            raise StackError(f"the template has no {route} route for Signicat's webhook deliveries")
        real = signicat_from_environment(self._environ) if self._environ.get("SIGNICAT_API_URL") else None
        if real and route == SECRET_WEBHOOK_PATH and not URL_SECRET.fullmatch(real.webhook_secret):
            raise StackError(
                "SIGNICAT_WEBHOOK_SECRET goes into the webhook's URL (WebhookAuthMode url): it must be at "
                "least 32 characters of A-Z, a-z, 0-9, '-', '_', '.', '~'"
            )

    # -- pieces ----------------------------------------------------------------------------------

    def invoke(self, function_id: str, event: Any) -> Any:
        """Run one function with an event, as Lambda's synchronous Invoke."""
        if function_id not in self.functions:
            raise StackError(f"function {function_id} is not running")
        return self.functions[function_id].invoke(event)

    def client(self, service: str, function: str | None = None) -> Any:
        """A boto3 client for the stack's moto server: as the administrator, or with `function`'s role."""
        return self._client(service, self.credentials[function] if function else self.admin_credentials)

    def session(self) -> Any:
        """A boto3 session as the administrator (for boto3 resources and clients alike)."""
        return boto3.session.Session(region_name=self.region, **self.admin_credentials)

    def _client(self, service: str, credentials: Mapping[str, str]) -> Any:
        if self.moto is None:
            raise StackError("the stack is not started")
        return boto3.client(
            service, endpoint_url=self.moto.endpoint_url, region_name=self.region, **credentials
        )

    def _names(self, resolver: Resolver) -> dict[str, str]:
        """The physical names the template gives its tables, queues and buckets (e.g. BucketName)."""
        names = {}
        for logical_id, resource in self.template.resources.items():
            name = (resource.get("Properties") or {}).get(NAME_PROPERTIES.get(resource.get("Type"), ""))
            if name is not None:
                names[logical_id] = str(resolver.resolve(name))
        return names

    def _webhook_route(self) -> str:
        return (
            SECRET_WEBHOOK_PATH if self._parameter("WebhookAuthMode", URL_MODE) == URL_MODE else WEBHOOK_PATH
        )

    def webhook_url(self, secret: str) -> str:
        """The URL to register for Signicat's deliveries: in url mode (the default) it carries `secret`."""
        assert self.gateway is not None
        return self.gateway.url + self._webhook_route().replace("{secret}", secret)

    def _start_signicat(self) -> Signicat:
        if self._environ.get("SIGNICAT_API_URL"):
            signicat = signicat_from_environment(self._environ)
            self.registered_webhook_url = self.webhook_url(signicat.webhook_secret)
            return signicat
        from local.emulator.config import EmulatorConfig
        from local.emulator.server import EmulatorServer

        webhook_secret = secrets.token_urlsafe(32)
        self.registered_webhook_url = self.webhook_url(webhook_secret)
        config = dataclasses.replace(
            self._emulator_config or EmulatorConfig(),
            webhook_urls=[self.registered_webhook_url],
            webhook_secret=webhook_secret,
            # Deliver the way the webhook function is configured to authenticate.
            webhook_auth_mode=self._parameter("WebhookAuthMode", URL_MODE),
            webhook_signature_header=self._parameter("WebhookSignatureHeader", "X-Signicat-Signature"),
        )
        self.emulator = self.start_component(EmulatorServer(config))
        return Signicat(
            api_url=f"{self.emulator.url}/sign",
            token_url=f"{self.emulator.url}/auth/open/connect/token",
            client_id=config.client_id,
            client_secret=config.client_secret,
            webhook_secret=config.webhook_secret,
        )

    def _parameter(self, name: str, default: str) -> str:
        value = self._parameters.get(name) or self.template.parameters.get(name)
        return default if value is None else str(value)

    def _signicat_parameters(self, session: Any) -> dict[str, str]:
        """The secrets in Secrets Manager, and the template parameters that point at them and at Signicat."""
        assert self.moto is not None and self.signicat is not None
        manager = session.client("secretsmanager", endpoint_url=self.moto.endpoint_url)
        client_secret = json.dumps(
            {"clientId": self.signicat.client_id, "clientSecret": self.signicat.client_secret}
        )
        webhook_secret = json.dumps({"secrets": [self.signicat.webhook_secret]})
        parameters = {
            "SignicatApiUrl": self.signicat.api_url,
            "SignicatTokenUrl": self.signicat.token_url,
            "SignicatSecretArn": _put_secret(manager, f"{self.prefix}/signicat-client", client_secret),
            "WebhookSecretArn": _put_secret(manager, f"{self.prefix}/signicat-webhook", webhook_secret),
        }
        if self.emulator is not None:
            # The stored PAdES are the emulator's: its CA is the one trust root (a real Signicat: the template's
            # parameter names roots put there beforehand, as on AWS).
            name = f"/{self.prefix}/trust-roots"
            session.client("ssm", endpoint_url=self.moto.endpoint_url).put_parameter(
                Name=name, Value=self.emulator.ca_pem().decode(), Type="String", Overwrite=True
            )
            parameters["TrustRootsParameterName"] = name
        return parameters

    def _physical(self) -> dict[str, dict[str, str]]:
        assert self.resources is not None
        return {
            logical_id: {
                "Ref": self.resources.ref(logical_id),
                "Arn": resource.arn,
                "QueueName" if resource.url else "Name": resource.name,
                **({"QueueUrl": resource.url} if resource.url else {}),
            }
            for logical_id, resource in self.resources.by_id.items()
        }

    def _start_function(self, function: Function, environment: dict[str, str]) -> RieFunction:
        assert self.moto is not None
        concurrency = (
            self._concurrency
            if isinstance(self._concurrency, int)
            else self._concurrency.get(function.logical_id, 1)
        )
        spec = spec_from_template(self.template, function, environment, self.build_dir)
        runner = RieFunction(
            spec,
            region=self.region,
            credentials=self.credentials[function.logical_id],
            endpoint_url=self.moto.endpoint_url,
            python=self._python,
            log_dir=self.out_dir / "logs",
            concurrency=concurrency,
        )
        return self.start_component(runner)

    def queue_by_arn(self, arn: str) -> Any:
        assert self.resources is not None
        for resource in self.resources.by_id.values():
            if resource.arn == arn and resource.url:
                return resource
        raise StackError(f"no queue of the template has the ARN {arn}")

    def _describe(self) -> dict[str, Any]:
        assert self.moto is not None and self.gateway is not None and self.resources is not None
        variables: dict[str, str] = {}
        for runner in self.functions.values():
            variables.update(runner.spec.environment)
        info: dict[str, Any] = {
            "apiUrl": self.gateway.url,
            "webhookUrl": self.registered_webhook_url,
            # Lambda's Invoke API for the functions (`make invoke`, `aws lambda invoke --endpoint-url`).
            "lambdaUrl": self.lambda_api.url if self.lambda_api else None,
            "envVars": str(self.out_dir / "env.json"),
            "awsEndpointUrl": self.moto.endpoint_url,
            "region": self.region,
            # The administrator's keys, for people and tests (every other key is a function's role).
            "accessKeyId": self.admin_credentials["aws_access_key_id"],
            "secretAccessKey": self.admin_credentials["aws_secret_access_key"],
            "roles": dict(self.roles),
            "documentsBucket": variables.get("DOCUMENTS_BUCKET"),
            # The drop folder is incoming/ in the documents bucket.
            "intakeBucket": variables.get("DOCUMENTS_BUCKET"),
            "table": variables.get("TABLE_NAME"),
            "queueUrl": variables.get("QUEUE_URL"),
            "dlqUrl": self._dead_letter_queue_url(variables.get("QUEUE_URL")),
            "logs": {name: str(runner.log_path) for name, runner in self.functions.items()},
            "resources": {lid: dataclasses.asdict(res) for lid, res in self.resources.by_id.items()},
        }
        if self.emulator is not None:
            info["emulatorUrl"] = self.emulator.url
        return info

    def _dead_letter_queue_url(self, queue_url: str | None) -> str | None:
        if not queue_url:
            return None
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
        )
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        return self.queue_by_arn(json.loads(policy)["deadLetterTargetArn"]).url if policy else None


def with_overrides(template: Template, overrides: Mapping[str, Mapping[str, Any]], out_dir: Path) -> Template:
    """The template with some resources' Properties replaced for this run (e.g. a chaos run's shorter worker
    Timeout and queue VisibilityTimeout), written to out_dir and read back the way the original was read."""
    import yaml

    document = copy.deepcopy(dict(template.document))
    for logical_id, properties in overrides.items():
        resource = document["Resources"].get(logical_id)
        if resource is None:
            raise StackError(f"cannot override {logical_id}: the template has no such resource")
        resource.setdefault("Properties", {}).update(properties)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "template.overridden.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_template(path)


def _put_secret(manager: Any, name: str, value: str) -> str:
    try:
        return manager.create_secret(Name=name, SecretString=value)["ARN"]
    except manager.exceptions.ResourceExistsException:
        return manager.put_secret_value(SecretId=name, SecretString=value)["ARN"]


def _start_sqs_source(
    stack: LocalStack, function: Function, event: SqsEvent, resolver: Resolver
) -> SqsEventSource:
    queue = stack.queue_by_arn(resolver.resolve(event.queue))
    runner = stack.functions[function.logical_id]
    # Lambda polls the queue with the function's role (SAM attaches AWSLambdaSQSQueueExecutionRole for it).
    source = SqsEventSource(
        stack.client("sqs", function.logical_id),
        queue.url,
        runner.invoke,
        batch_size=event.batch_size,
        report_batch_item_failures=event.reports_batch_item_failures,
        region=stack.region,
        queue_arn=queue.arn,
        name=f"{function.logical_id}.{event.name}",
    )
    return stack.start_component(source)


def _start_s3_source(
    stack: LocalStack, function: Function, event: S3Event, resolver: Resolver
) -> SqsEventSource:
    """moto cannot call our functions, but it does deliver S3 notifications to SQS: route them through a queue."""
    bucket = resolver.resolve(event.bucket)
    sqs, s3 = stack.client("sqs"), stack.client("s3")
    queue_url = sqs.create_queue(QueueName=f"{stack.prefix}-{function.logical_id}-{event.name}-s3".lower())[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    configuration = s3.get_bucket_notification_configuration(Bucket=bucket)
    configuration.pop("ResponseMetadata", None)
    target: dict[str, Any] = {"QueueArn": queue_arn, "Events": list(event.events)}
    rules = (event.filter.get("S3Key") or {}).get("Rules")
    if rules:
        target["Filter"] = {
            "Key": {"FilterRules": rules}
        }  # CloudFormation's S3Key/Rules is the API's Key/FilterRules
    configuration.setdefault("QueueConfigurations", []).append(target)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    runner = stack.functions[function.logical_id]

    def invoke(sqs_event: dict) -> None:
        for record in sqs_event["Records"]:
            notification = json.loads(record["body"])
            if notification.get("Event") != "s3:TestEvent":  # S3 sends one when the configuration is set
                runner.invoke(notification)

    # One notification per batch: a failure retries only that one, after the queue's visibility timeout.
    source = SqsEventSource(
        sqs,
        queue_url,
        invoke,
        batch_size=1,
        region=stack.region,
        queue_arn=queue_arn,
        name=f"{function.logical_id}.{event.name}",
    )
    return stack.start_component(source)


# Which event types the offline stack drives, and how. Schedules run at their rate, or every
# LOCAL_SCHEDULE_SECONDS; `fire()` on the source runs one now.
EVENT_SOURCES: dict[type, Callable[[LocalStack, Function, Any, Resolver], Any]] = {
    SqsEvent: _start_sqs_source,
    S3Event: _start_s3_source,
    ScheduleEvent: start_schedule_source,
}
