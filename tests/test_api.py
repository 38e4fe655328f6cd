"""The public API's contracts: what each package exports, and the one error tree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import corridor
import corridor.errors

#: The public packages and modules: each has an ``__all__`` that is exactly its public names.
PUBLIC = [
    "corridor",
    "corridor.calibrate",
    "corridor.ensemble",
    "corridor.errors",
    "corridor.evidence",
    "corridor.flee",
    "corridor.report",
    "corridor.runner",
    "corridor.scenario",
    "corridor.sensitivity",
]


def _public_names(module: ModuleType) -> set[str]:
    """Names a user sees in ``module``: not private, not submodules, not imported helpers
    (``annotations``) nor third-party objects."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or name == "annotations":
            continue
        home = getattr(value, "__module__", None)
        if home is not None and not str(home).startswith("corridor") and not isinstance(value, type):
            continue
        if isinstance(value, type) and not value.__module__.startswith("corridor"):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("name", PUBLIC)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), f"{name}.__all__ lists a name twice"
    missing = sorted(n for n in exported if not hasattr(module, n))
    assert not missing, f"{name}.__all__ names what the module does not define: {missing}"
    # Constants and type aliases (e.g. Literal[...]) have no __module__: they count as public
    # when not private, so the module must list them or make them private.
    unlisted = sorted(_public_names(module) - exported - {"__version__"})
    assert not unlisted, f"{name} has public names missing from __all__: {unlisted}"


def _all_modules() -> list[ModuleType]:
    found = [corridor]
    for info in pkgutil.walk_packages(corridor.__path__, "corridor."):
        found.append(importlib.import_module(info.name))
    return found


def test_every_exception_class_derives_from_corridor_error() -> None:
    strays = []
    for module in _all_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__.startswith("corridor")
                and not issubclass(value, corridor.errors.CorridorError)
            ):
                strays.append(f"{value.__module__}.{value.__qualname__}")
    assert not strays, f"exceptions outside the CorridorError tree: {sorted(set(strays))}"


def test_the_errors_a_package_exports_are_the_ones_in_corridor_errors() -> None:
    # One class per kind: corridor.scenario.ScenarioError is corridor.errors.ScenarioError.
    for module in _all_modules():
        for name, value in vars(module).items():
            public = not value.__name__.startswith("_") if isinstance(value, type) else False
            if public and issubclass(value, corridor.errors.CorridorError):
                assert value is getattr(corridor.errors, value.__name__), f"{module.__name__}.{name}"


def test_the_error_tree_is_drawn_in_the_module_docstring() -> None:
    doc = corridor.errors.__doc__ or ""
    for name in corridor.errors.__all__:
        assert name in doc, f"{name} is missing from the tree in corridor.errors' docstring"
    assert issubclass(corridor.errors.CorridorError, ValueError)  # compatibility with 0.1


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    assert corridor.__version__ == version("corridor")
