"""The structure of the package holds to its targets (docs/architecture.md).

The figures come from ``benchmarks/structure.py``, which reads the source with ast:
no import cycle (imports anywhere in a module count), exactly one module that sets up
worker pools, every exception class under ``CorridorError``, no function longer than
100 lines and no module longer than 800, and imports that go one way between layers.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "corridor"


@pytest.fixture(scope="module")
def structure() -> Any:
    spec = importlib.util.spec_from_file_location("structure", ROOT / "benchmarks" / "structure.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures(structure: Any) -> dict[str, Any]:
    return structure.measure(PACKAGE)


def test_no_import_cycle(figures: dict[str, Any]) -> None:
    assert figures["import_cycles"] == []


def test_exactly_one_module_sets_up_worker_pools(figures: dict[str, Any]) -> None:
    assert figures["pool_modules"] == ["corridor.runner.executors"]


def test_every_exception_derives_from_the_root(figures: dict[str, Any]) -> None:
    assert figures["exceptions_without_root"] == []


def test_no_function_longer_than_100_lines(figures: dict[str, Any]) -> None:
    lines, name = figures["longest_functions"][0]
    assert lines <= 100, f"{name} is {lines} lines"


def test_no_module_longer_than_800_lines(figures: dict[str, Any]) -> None:
    lines, name = figures["largest_modules"][0]
    assert lines <= 800, f"{name} is {lines} lines"


#: Layers, top to bottom: a module may import its own layer and the layers below it only.
LAYERS: list[tuple[str, ...]] = [
    ("corridor.cli",),
    (
        "corridor.calibrate",
        "corridor.ensemble",
        "corridor.sensitivity",
        "corridor.forecast",
        "corridor.backtest",
        "corridor.dashboard",
    ),
    ("corridor.evidence", "corridor.report"),
    ("corridor.runner",),
    ("corridor.engine", "corridor.flee"),
    (
        "corridor.timeline",
        "corridor.pathways",
        "corridor.metrics",
        "corridor.geography",
        "corridor.scenario",
        "corridor.params",
        "corridor.observations",
    ),
]


def _layer(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None  # helpers every layer may use (errors, outputs, atomic, textfile, ...)


def _without_type_checking(tree: ast.Module) -> ast.Module:
    """``tree`` without its ``if TYPE_CHECKING:`` blocks (annotations may name a higher layer's
    types; the cycle test above still counts them)."""
    body = [s for s in tree.body if not (isinstance(s, ast.If) and "TYPE_CHECKING" in ast.unparse(s.test))]
    return ast.Module(body=body, type_ignores=[])


def test_imports_go_one_way(structure: Any) -> None:
    mods = structure.modules(PACKAGE)
    known = set(mods)
    upward = []
    for name, (path, full) in mods.items():
        tree = _without_type_checking(full)
        here = _layer(name)
        if here is None or name == "corridor":
            continue
        for target in structure.imports(name, path, tree, known):
            there = _layer(target)
            if there is not None and there < here:
                upward.append(f"{name} -> {target}")
    assert not upward, "imports against the layers: " + ", ".join(sorted(upward))
