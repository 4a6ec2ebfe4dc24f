"""A deferred module runs when one of its names is first read, once; one already imported is returned as is."""

from __future__ import annotations

import json
import sys

import pytest

from signing_core import lazy_imports


@pytest.fixture
def use_case(monkeypatch, tmp_path):
    """A module that counts how often its body runs, importable as `counted_use_case`."""
    runs = tmp_path / "runs"
    (tmp_path / "counted_use_case.py").write_text(
        "import pathlib\n"
        f"_runs = pathlib.Path({str(runs)!r})\n"
        "_runs.write_text(str(int(_runs.read_text() or 0) + 1) if _runs.exists() else '1')\n"
        "def answer():\n    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(lazy_imports, "_deferred", [])
    monkeypatch.setitem(sys.modules, "counted_use_case", None)
    monkeypatch.delitem(sys.modules, "counted_use_case")
    return lambda: int(runs.read_text()) if runs.exists() else 0


def test_a_deferred_module_runs_on_first_use_and_only_once(use_case):
    module = lazy_imports.later("counted_use_case")
    assert use_case() == 0

    assert module.answer() == 42
    assert module.answer() == 42
    assert use_case() == 1
    assert sys.modules["counted_use_case"] is module


def test_load_all_runs_what_was_deferred(use_case):
    lazy_imports.later("counted_use_case")

    lazy_imports.load_all()

    assert use_case() == 1


def test_a_module_already_imported_is_returned_as_it_is():
    assert lazy_imports.later("json") is json
    assert "json" not in lazy_imports._deferred


def test_a_missing_module_is_refused_at_once():
    with pytest.raises(ModuleNotFoundError, match="no_such_use_case"):
        lazy_imports.later("no_such_use_case")
