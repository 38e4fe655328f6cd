"""Which implementation of the compiled phases a run uses: numba's, or NumPy's.

Some phases have a compiled twin in :mod:`corridor.engine.kernels` that draws the same
random numbers in the same order, so a run's results are the same bits either way; only
the speed differs. The twin is used when numba is installed (``pip install
corridor[fast]``). The environment variable ``CORRIDOR_ENGINE`` chooses otherwise:

- ``auto`` (the default): numba where it can be imported, else NumPy;
- ``numpy``: the NumPy phases (the reference);
- ``numba``: the compiled phases, and an error where numba cannot be imported.

The choice is read when a run starts (:func:`compiled_kernels`), so a test or a benchmark
can set the variable between runs in one process.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from corridor.errors import RunError

__all__ = ["ENGINE_VARIABLE", "compiled_kernels", "compiles_first"]

#: The environment variable that chooses the implementation.
ENGINE_VARIABLE = "CORRIDOR_ENGINE"
_CHOICES = ("auto", "numpy", "numba")
_loaded: dict[str, ModuleType | None] = {}
_why_not: dict[str, str] = {}


def compiled_kernels() -> ModuleType | None:
    """The module of compiled phases to use, or None for the NumPy phases.

    Raises
    ------
    RunError
        If ``CORRIDOR_ENGINE`` is not one of auto, numpy, numba, or is numba and numba
        cannot be imported.
    """
    choice = os.environ.get(ENGINE_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise RunError(f"{ENGINE_VARIABLE}: expected one of {', '.join(_CHOICES)}, got {choice!r}")
    if choice == "numpy":
        return None
    if "kernels" not in _loaded:
        try:
            _loaded["kernels"] = importlib.import_module("corridor.engine.kernels")
        except ImportError as exc:  # numba missing, or installed but unusable (say, too old for NumPy)
            _loaded["kernels"] = None
            _why_not["kernels"] = f"{type(exc).__name__}: {exc}"
    found = _loaded["kernels"]
    if found is None and choice == "numba":
        why = _why_not.get("kernels", "")
        hint = "pip install 'corridor[fast]'"
        raise RunError(f"{ENGINE_VARIABLE}=numba: the compiled phases cannot be imported ({why}); {hint}")
    return found


def compiles_first(kernels: ModuleType | None) -> bool:
    """Whether a run with ``kernels`` (:func:`compiled_kernels`) compiles them first (some
    seconds, once after they were installed or changed): their sources were new to numba's
    cache when this process imported them, and nothing has run them since. A run's description
    says so, so that a first run is not taken for a hung one. A heuristic: numba also compiles
    when its cache was cleared, or numba or the CPU changed, without this knowing."""
    return kernels is not None and bool(kernels.CACHE_RENEWED) and not kernels.move_day.signatures
