"""The core's shape: its import graph, read from its source with `ast` (function-level imports count like the
others), and the size of its modules.

Imports under `if TYPE_CHECKING:` are never run, so they are not part of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "layers" / "core" / "signing_core"
PACKAGE = CORE.name
# One concern per module: a module that grows past this holds more than one, and is split along them.
MAX_MODULE_LINES = 250


def core_modules() -> set[str]:
    return {path.stem for path in CORE.glob("*.py") if path.stem != "__init__"}


def imports(module: str, source: str | None = None) -> list[tuple[str, bool]]:
    """Every `module` → other core module import, anywhere in the file, and whether it sits in a function."""
    if source is None:
        source = (CORE / f"{module}.py").read_text()
    tree = ast.parse(source, filename=f"{module}.py")
    local, typing_only = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            local.update(id(inner) for inner in ast.walk(node) if inner is not node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            typing_only.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        for target in _targets(node):
            if target in core_modules() and target != module:
                found.append((target, id(node) in local))
    return found


def _targets(node: ast.AST) -> list[str]:
    """The core modules an import statement names (`from signing_core import a, b`, `from .a import x`, ...)."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[1] for alias in node.names if alias.name.startswith(PACKAGE + ".")]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level == 1 and node.module:
        return [node.module.split(".")[0]]
    if node.level == 1 or node.module == PACKAGE:
        return [alias.name for alias in node.names]
    if node.module and node.module.startswith(PACKAGE + "."):
        return [node.module.split(".")[1]]
    return []


def graph() -> dict[str, set[str]]:
    return {module: {target for target, _ in imports(module)} for module in sorted(core_modules())}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it (the first repeated at the end), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return [*visiting[visiting.index(module) :], module]
        if module in done:
            return None
        visiting.append(module)
        for target in sorted(edges.get(module, ())):
            found = visit(target)
            if found:
                return found
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(edges):
        found = visit(module)
        if found:
            return found
    return None


SAMPLE = """
import json
from typing import TYPE_CHECKING
import signing_core.aws
from signing_core import errors, storage
from signing_core.repository import Signing
from .settings import env

if TYPE_CHECKING:
    from signing_core.signicat import SignicatClient


def later():
    from signing_core import outcomes
    from . import receipts
"""


def test_the_reader_sees_every_form_of_import_at_top_level_and_in_functions():
    assert sorted(imports("sample", SAMPLE)) == [
        ("aws", False),
        ("errors", False),
        ("outcomes", True),
        ("receipts", True),
        ("repository", False),
        ("settings", False),
        ("storage", False),
    ]


def test_a_cycle_is_found_and_named():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_core_has_no_import_cycle():
    assert cycle(graph()) is None, " → ".join(cycle(graph()) or [])


def test_only_the_place_that_builds_the_sign_api_client_imports_it_and_only_when_it_does():
    importers = {
        module: lazy for module in core_modules() for target, lazy in imports(module) if target == "signicat"
    }
    assert importers, "something must build the Sign API client"
    assert all(importers.values()), f"imported at module level (loads requests): {importers}"
    assert len(importers) == 1, f"the client is built in one place, not in {sorted(importers)}"


def too_long(core: Path = CORE) -> dict[str, int]:
    """The core modules over MAX_MODULE_LINES, with their line counts."""
    counts = {path.name: len(path.read_text().splitlines()) for path in core.glob("*.py")}
    return {name: count for name, count in counts.items() if count > MAX_MODULE_LINES}


def test_no_core_module_is_over_the_line_limit():
    assert too_long() == {}, f"split along their concerns (at most {MAX_MODULE_LINES} lines): {too_long()}"
