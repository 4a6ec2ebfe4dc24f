"""Read the SAM template the way the offline stack needs it: functions, their events, parameters.

SAM's own code does the reading: samcli's YAML constructor loads intrinsics (`!Ref`, `!GetAtt`, `!Sub`, ...)
as their long form (`{"Ref": "X"}`), SAM's plugins merge Globals (as `sam local` does), and `Resolver`
resolves intrinsics with SAM CLI's intrinsic resolver against the offline stack's physical resources.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samcli.lib.intrinsic_resolver.invalid_intrinsic_exception import (
    InvalidIntrinsicException,
    InvalidSymbolException,
)
from samcli.yamlhelper import intrinsics_multi_constructor

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_SIZE = 128
DEFAULT_ACCOUNT_ID = "123456789012"


class TemplateError(ValueError):
    """The template cannot be read, or a value in it cannot be resolved."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that knows CloudFormation's short-form tags, without changing yaml.SafeLoader itself."""


_CfnLoader.add_multi_constructor("!", intrinsics_multi_constructor)
# Dates stay strings (AWSTemplateFormatVersion), as CloudFormation reads them.
_CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


@dataclass(frozen=True)
class ApiEvent:
    name: str
    path: str
    method: str
    rest_api: Any = None


@dataclass(frozen=True)
class SqsEvent:
    name: str
    queue: Any
    batch_size: int = 10
    function_response_types: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class S3Event:
    name: str
    bucket: Any
    events: tuple[str, ...] = ()
    filter: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleEvent:
    name: str
    schedule: str
    enabled: bool = True
    input: Any = None


@dataclass(frozen=True)
class OtherEvent:
    name: str
    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)


Event = ApiEvent | SqsEvent | S3Event | ScheduleEvent | OtherEvent


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: str
    handler: str
    runtime: str | None
    timeout: int
    memory_size: int
    environment: Mapping[str, Any]
    layers: tuple[Any, ...]
    events: tuple[Event, ...]
    logging_config: Mapping[str, Any] = field(default_factory=dict)  # LoggingConfig

    def events_of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]


@dataclass(frozen=True)
class Template:
    path: Path
    document: Mapping[str, Any]
    parameters: Mapping[str, Any]
    functions: Mapping[str, Function]

    @property
    def resources(self) -> Mapping[str, Any]:
        return self.document.get("Resources") or {}

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self.document.get("Conditions") or {}

    def resources_of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == resource_type}

    def layer_ids(self, function: Function) -> list[str]:
        """Logical ids of this template's layers the function uses (public layer ARNs are left out)."""
        layers = self.resources_of_type(LAYER_TYPE)
        return [ref["Ref"] for ref in function.layers if isinstance(ref, dict) and ref.get("Ref") in layers]

    def parameter_values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Parameter defaults with `overrides` applied; a parameter with neither is an error."""
        values = {name: default for name, default in self.parameters.items() if default is not None}
        values.update(overrides or {})
        missing = sorted(set(self.parameters) - set(values))
        if missing:
            raise TemplateError(f"template parameters without a default need a value: {', '.join(missing)}")
        return {name: str(value) for name, value in values.items()}


def load_template(path: str | Path) -> Template:
    path = Path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506  # nosec B506 - a SafeLoader subclass
    except FileNotFoundError:
        raise TemplateError(f"template not found: {path}") from None
    except yaml.YAMLError as error:
        raise TemplateError(f"template {path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"template {path} has no Resources section")
    parameters = {
        name: (spec or {}).get("Default") for name, spec in (document.get("Parameters") or {}).items()
    }
    expanded = expand_globals(document, parameters)
    functions = {
        lid: _function(lid, res.get("Properties") or {})
        for lid, res in expanded["Resources"].items()
        if res.get("Type") == FUNCTION_TYPE
    }
    return Template(path=path, document=document, parameters=parameters, functions=functions)


def expand_globals(document: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The template after SAM's plugins, as `sam local` runs them: Globals merged into each resource, policy
    templates (DynamoDBCrudPolicy, ...) expanded into statements."""
    from samcli.commands.validate.lib.exceptions import InvalidSamDocumentException
    from samcli.lib.samlib.wrapper import SamTranslatorWrapper

    values = {name: value for name, value in parameters.items() if value is not None}
    try:
        return SamTranslatorWrapper(copy.deepcopy(dict(document)), parameter_values=values).run_plugins()
    except InvalidSamDocumentException as error:
        raise TemplateError(f"SAM cannot read the template: {error}") from None


def _function(logical_id: str, props: Mapping[str, Any]) -> Function:
    if "Handler" not in props or "CodeUri" not in props:
        raise TemplateError(f"function {logical_id} needs Handler and CodeUri (zip packaging)")
    return Function(
        logical_id=logical_id,
        code_uri=str(props["CodeUri"]),
        handler=str(props["Handler"]),
        runtime=props.get("Runtime"),
        timeout=int(props.get("Timeout", DEFAULT_TIMEOUT)),
        memory_size=int(props.get("MemorySize", DEFAULT_MEMORY_SIZE)),
        environment=dict((props.get("Environment") or {}).get("Variables") or {}),
        layers=tuple(props.get("Layers") or ()),
        events=tuple(_event(name, spec) for name, spec in (props.get("Events") or {}).items()),
        logging_config=dict(props.get("LoggingConfig") or {}),
    )


def _event(name: str, spec: Mapping[str, Any]) -> Event:
    kind, props = spec.get("Type"), spec.get("Properties") or {}
    if kind == "Api":
        return ApiEvent(name, props["Path"], str(props["Method"]).upper(), props.get("RestApiId"))
    if kind == "SQS":
        return SqsEvent(
            name,
            queue=props["Queue"],
            batch_size=int(props.get("BatchSize", 10)),
            function_response_types=tuple(props.get("FunctionResponseTypes") or ()),
            enabled=bool(props.get("Enabled", True)),
        )
    if kind == "S3":
        events = props.get("Events") or ()
        return S3Event(
            name,
            bucket=props["Bucket"],
            events=tuple([events] if isinstance(events, str) else events),
            filter=props.get("Filter") or {},
        )
    if kind in ("Schedule", "ScheduleV2"):
        enabled = props.get("Enabled", props.get("State", "ENABLED") == "ENABLED")
        expression = props.get("Schedule") or props.get("ScheduleExpression")
        return ScheduleEvent(name, schedule=expression, enabled=bool(enabled), input=props.get("Input"))
    return OtherEvent(name, str(kind), props)


class Resolver:
    """Resolves intrinsic values against physical resources, with SAM CLI's own intrinsic resolver.

    `physical` maps a logical id to its Ref value, or to a mapping of its attributes with the Ref
    value under "Ref" (e.g. {"Ref": url, "Arn": arn, "QueueUrl": url, "QueueName": name}). Unlike
    `sam local`, a reference to a resource without a physical value is an error, not its logical id.
    """

    def __init__(
        self,
        template: Template,
        physical: Mapping[str, Any],
        *,
        region: str,
        parameters: Mapping[str, Any] | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        stack_name: str = "local",
        stack_id: str | None = None,
    ) -> None:
        self.stack_id = (
            stack_id or f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid.uuid4()}"
        )
        translator: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": self.stack_id,
            **{name: _as_str(value) for name, value in template.parameter_values(parameters).items()},
            **{
                lid: dict(value) if isinstance(value, Mapping) else {"Ref": value}
                for lid, value in physical.items()
            },
        }
        symbols = _StrictSymbols(template=dict(template.document), logical_id_translator=translator)
        self._resolver = _Resolver(template=dict(template.document), symbol_resolver=symbols)

    def environment(self, function: Function) -> dict[str, str]:
        """The function's environment as strings; variables resolving to AWS::NoValue are left out."""
        resolved = {name: self.resolve(value) for name, value in function.environment.items()}
        return {name: _as_str(value) for name, value in resolved.items() if value is not None}

    def resolve(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self._resolver.intrinsic_property_resolver(value, ignore_errors=False)
        except (InvalidIntrinsicException, InvalidSymbolException) as error:
            raise TemplateError(f"cannot resolve {value}: {error}") from None


class _StrictSymbols(IntrinsicsSymbolTable):
    """A resource without a physical value is an error, not its logical id (sam local's fallback)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            common_attribute_resolver={"Ref": self._unresolved("Ref"), "Arn": self._unresolved("Arn")},
            **kwargs,
        )
        self.default_type_resolver = {}

    def _unresolved(self, attribute: str):
        def unresolved(logical_id: str) -> str:
            if logical_id in self._resources:
                what = f"Ref {logical_id}" if attribute == "Ref" else f"GetAtt {logical_id}.{attribute}"
                raise InvalidSymbolException(f"no physical resource for {what}")
            return logical_id  # a value of Fn::Sub's variables, which SAM CLI looks up as a symbol

        return unresolved

    def resolve_symbols(self, logical_id: str, resource_attribute: str, ignore_errors: bool = False) -> Any:
        # Strict inside Fn::Sub too, where SAM CLI asks to ignore errors.
        return super().resolve_symbols(logical_id, resource_attribute, ignore_errors=False)


class _Resolver(IntrinsicResolver):
    """SAM CLI's resolver, where it differs from CloudFormation made to agree with it."""

    def handle_fn_sub(self, intrinsic_value: Any, ignore_errors: bool) -> str:
        # CloudFormation writes ${!Name} as the literal ${Name}.
        return super().handle_fn_sub(intrinsic_value, ignore_errors).replace("${!", "${")

    def handle_fn_if(self, intrinsic_value: Any, ignore_errors: bool) -> Any:
        # Only the branch taken is resolved, so `!If [c, x, !Ref AWS::NoValue]` works (SAM CLI's resolves
        # both and fails on the None that AWS::NoValue is).
        condition, if_true, if_false = intrinsic_value
        taken = self.intrinsic_property_resolver(self._conditions[condition], ignore_errors)
        branch = if_true if taken else if_false
        if branch == {"Ref": "AWS::NoValue"}:
            return None
        return self.intrinsic_property_resolver(branch, ignore_errors)


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
