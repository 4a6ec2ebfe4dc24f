"""Modules a function loads on first use instead of at init: each request pays only for the use case it runs.

`later("signing_core.cancelling")` returns the module at once and runs it when one of its names is first read
(the standard library's `importlib.util.LazyLoader`). `load_all` runs every module deferred so far: SnapStart's
before-snapshot hook calls it (`signing_core.snapstart`), so environments restored from the snapshot have them.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

_deferred: list[str] = []


def later(name: str) -> ModuleType:
    """The module `name`, run on first use; the loaded module itself when something already imported it."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _deferred.append(name)
    return module


def load_all() -> None:
    """Run every module deferred so far (reading any name of a deferred module runs it)."""
    for name in _deferred:
        getattr(sys.modules[name], "__name__")  # noqa: B009 - the attribute read is what loads it
