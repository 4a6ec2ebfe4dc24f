"""Read the SAM template the way the offline stack needs it: functions, their events, parameters.

Intrinsics (`!Ref`, `!GetAtt`, `!Sub`, ...) are loaded as their long form (`{"Ref": "X"}`) by
samcli's own YAML constructor; `Resolver` turns the few that function environments use into strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
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
    globals_ = (document.get("Globals") or {}).get("Function") or {}
    functions = {
        lid: _function(lid, _merge_globals(globals_, res.get("Properties") or {}))
        for lid, res in document["Resources"].items()
        if res.get("Type") == FUNCTION_TYPE
    }
    return Template(path=path, document=document, parameters=parameters, functions=functions)


def _merge_globals(globals_: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (the function wins), lists concatenate (globals first)."""
    merged = dict(globals_)
    for key, value in properties.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = _merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = current + value
        else:
            merged[key] = value
    return merged


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


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _INTRINSICS


_INTRINSICS = {"Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::If", "Fn::Select", "Fn::Split"}
_PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]+)\}")


class Resolver:
    """Resolves intrinsic values against physical resources.

    `physical` maps a logical id to its Ref value, or to a mapping of its attributes with the Ref
    value under "Ref" (e.g. {"Ref": url, "Arn": arn, "QueueUrl": url, "QueueName": name}).
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
    ) -> None:
        self._template = template
        self._physical = physical
        self._parameters = template.parameter_values(parameters)
        self._pseudo = {
            **_PSEUDO,
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
        }

    def environment(self, function: Function) -> dict[str, str]:
        """The function's environment as strings; variables resolving to AWS::NoValue are left out."""
        resolved = {name: self.resolve(value) for name, value in function.environment.items()}
        return {name: _as_str(value) for name, value in resolved.items() if value is not None}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if not _is_intrinsic(value):
            return {key: self.resolve(item) for key, item in value.items()}
        ((name, argument),) = value.items()
        if name == "Ref":
            return self.ref(argument)
        if name == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(logical_id, attribute)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(_as_str(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            separator, text = argument
            return self.resolve(text).split(separator)
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        raise TemplateError(f"unsupported intrinsic {name} in {value}")

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        physical = self._physical.get(name)
        if physical is None:
            raise TemplateError(f"no physical resource for Ref {name}")
        return physical["Ref"] if isinstance(physical, Mapping) else physical

    def get_att(self, logical_id: str, attribute: str) -> Any:
        physical = self._physical.get(logical_id)
        if not isinstance(physical, Mapping) or attribute not in physical:
            raise TemplateError(f"no physical value for GetAtt {logical_id}.{attribute}")
        return physical[attribute]

    def condition(self, name: str) -> bool:
        if name not in self._template.conditions:
            raise TemplateError(f"unknown condition {name}")
        return self._evaluate(self._template.conditions[name])

    def _evaluate(self, expression: Any) -> bool:
        ((name, argument),) = expression.items()
        if name == "Fn::Equals":
            left, right = (_as_str(self.resolve(item)) for item in argument)
            return left == right
        if name == "Fn::Not":
            return not self._evaluate(argument[0])
        if name == "Fn::And":
            return all(self._evaluate(item) for item in argument)
        if name == "Fn::Or":
            return any(self._evaluate(item) for item in argument)
        if name == "Condition":
            return self.condition(argument)
        raise TemplateError(f"unsupported condition function {name}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in variables:
                return _as_str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return _as_str(self.get_att(*name.split(".", 1)))
            return _as_str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
