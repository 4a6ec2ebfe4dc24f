"""Shapes of JSON answers: every field path with its JSON types, never a value; and the diff of two targets'.

`{"lifecycle": {"state": "READY"}, "tags": []}` has the shape
`{"$": {"object"}, "$.lifecycle": {"object"}, "$.lifecycle.state": {"string"}, "$.tags": {"array"}}`.
Array items share one path (`$.data[].id`), so a shape does not grow with the number of items.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Shape = dict[str, set[str]]  # field path -> the JSON types seen there
# A key that looks like an identifier is a value, not a field name: it is redacted to {key}.
_IDENTIFIER_KEY = re.compile(r"^[0-9a-fA-F-]{16,}$")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_of(value: Any, path: str = "$", into: Shape | None = None) -> Shape:
    shape = {} if into is None else into
    shape.setdefault(path, set()).add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            name = "{key}" if _IDENTIFIER_KEY.match(str(key)) else str(key)
            shape_of(item, f"{path}.{name}", shape)
    elif isinstance(value, list):
        for item in value:
            shape_of(item, f"{path}[]", shape)
    return shape


def merge(shape: Shape, other: Shape) -> None:
    for path, types in other.items():
        shape.setdefault(path, set()).update(types)


def diff(sandbox: Mapping[str, Shape], emulator: Mapping[str, Shape]) -> dict[str, list[dict[str, Any]]]:
    """What the sandbox answered that the emulator did not, per endpoint: fields, types, whole endpoints;
    and, to bring the emulator in line from both sides, the fields only the emulator sent."""
    sandbox_only, type_differences, emulator_only = [], [], []
    for endpoint in sorted(set(sandbox) & set(emulator)):
        theirs, ours = sandbox[endpoint], emulator[endpoint]
        for path in sorted(set(theirs) - set(ours)):
            sandbox_only.append({"endpoint": endpoint, "path": path, "types": sorted(theirs[path])})
        for path in sorted(set(ours) - set(theirs)):
            emulator_only.append({"endpoint": endpoint, "path": path, "types": sorted(ours[path])})
        for path in sorted(set(theirs) & set(ours)):
            if theirs[path] != ours[path]:
                type_differences.append(
                    {
                        "endpoint": endpoint,
                        "path": path,
                        "sandbox": sorted(theirs[path]),
                        "emulator": sorted(ours[path]),
                    }
                )
    return {
        "sandboxOnly": sandbox_only,
        "typeDifferences": type_differences,
        "emulatorOnly": emulator_only,
        "endpointsOnlyAtSandbox": sorted(set(sandbox) - set(emulator)),
        "endpointsOnlyAtEmulator": sorted(set(emulator) - set(sandbox)),
    }
