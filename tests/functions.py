"""Load a function's handler module in tests.

Every function has an `app.py`, so each is imported from its path under its own module name, with its
folder on sys.path only while it imports (for modules beside it); neither `app` nor those modules are
left in sys.modules, so two functions never share one by accident.
Set the environment before calling: handlers may read it at import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"


def load_handler(name: str) -> ModuleType:
    """A fresh import of `functions/<name>/app.py`, as module `functions_<name>_app`."""
    folder = FUNCTIONS / name
    path = folder / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no function named {name!r}: {path} does not exist")
    module_name = f"functions_{name}_app"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("app", None)
        _forget_modules_under(folder, keep=module_name)
    return module


def _forget_modules_under(folder: Path, keep: str) -> None:
    """Drop modules imported from the function's folder: another function may have ones of the same name."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name != keep and file and Path(file).resolve().is_relative_to(folder):
            del sys.modules[name]
