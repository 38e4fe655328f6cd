"""Flee's compiled day built ahead of time: an extension module that runs without numba.

With the day compiled by numba at run time, ``corridor flee run`` spends most of its start-up
on numba: importing it (about 0.5 s CPU) and loading the day from its cache (about 0.3 s more),
against a day loop of 0.07 s on a 300-day conflict of 15,000 people (docs/flee.md). numba's
``pycc`` compiles the same function, :func:`corridor.flee.day.flee_day`, into a plain extension
module, which loads in under a millisecond with NumPy alone. It is built once, on the first run
of the compiled kernel (about 15 s, a C compiler needed), and reused after.

The module is named after a digest of ``day.py``'s source, its signature and NumPy's version,
so an edited day (or a new NumPy) is rebuilt, and lives in the cache folder (:func:`cache_dir`).
A failed build is remembered for that name (a ``.failed`` file holding the error; delete it to
try again) and not retried: the day is then compiled by numba at run time, as before.
``numba.pycc`` has been pending deprecation since numba 0.57 ("replacement technology is being
developed"); where it is gone, that is the way taken.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

import numpy as np

from corridor.errors import FleeInputError

__all__ = [
    "build_flee_day",
    "cache_dir",
    "check_day_arrays",
    "extension_path",
    "flee_day_function",
    "load_flee_day",
]

#: The types of :func:`corridor.flee.day.flee_day`'s arrays (NumPy dtype names), tuple by tuple:
#: ``Agents``, ``Places``, ``Links`` and ``Weights`` of that module. The built day checks
#: nothing itself (an array of another type would crash the process), so
#: :func:`check_day_arrays` compares them before every call.
ARRAY_TYPES: tuple[tuple[str, ...], ...] = (
    ("int32", "int32", "float64", "float64", "int32"),
    ("int64", "int64", "int64", "float64", "float64", "bool", "bool", "bool", "int64"),
    ("int64", "int64", "int64", "float64", "float64", "float64", "float64", "bool"),
    ("int64", "int64", "float64", "float64", "bool"),
)
#: :data:`ARRAY_TYPES` as dtype objects (what :func:`check_day_arrays` compares).
_ARRAY_DTYPES = tuple(tuple(np.dtype(t) for t in types) for types in ARRAY_TYPES)
_NUMBA_NAMES = {"bool": "boolean"}
#: The day's signature as numba writes it: the seed, the array tuples, then ``Settings``.
SIGNATURE = (
    "int64(int64, "
    + ", ".join(
        "Tuple((" + ", ".join(f"{_NUMBA_NAMES.get(t, t)}[:]" for t in types) + "))" for types in ARRAY_TYPES
    )
    + ", Tuple((float64, float64, float64, float64, boolean, boolean, int64)))"
)
_DAY_SOURCE = Path(__file__).with_name("day.py")
#: The error when the compiled kernel is asked for and neither a built day nor numba is there.
NEEDS_NUMBA = "kernel: 'compiled' needs numba (pip install 'corridor[fast]')"


def cache_dir() -> Path:
    """Where the built day is kept: ``$CORRIDOR_CACHE_DIR`` if set, else this package's
    ``__pycache__`` (where numba keeps its own cache) if it can be written, else
    ``corridor`` in ``$XDG_CACHE_HOME`` (default ``~/.cache``)."""
    if os.environ.get("CORRIDOR_CACHE_DIR"):
        return Path(os.environ["CORRIDOR_CACHE_DIR"])
    beside = Path(__file__).with_name("__pycache__")
    if os.access(beside if beside.exists() else beside.parent, os.W_OK):
        return beside
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corridor"


@functools.cache
def _module_name() -> str:
    """The extension's module name: a digest of the day's source, its signature and NumPy's
    version (the module is built against NumPy's C interface)."""
    text = _DAY_SOURCE.read_bytes() + SIGNATURE.encode() + np.__version__.encode()
    return f"_flee_day_{hashlib.sha256(text).hexdigest()[:16]}"


def extension_path() -> Path:
    """The file the built day is (or would be) in, for this source and this Python."""
    return cache_dir() / f"{_module_name()}{EXTENSION_SUFFIXES[0]}"


#: Days loaded in this process, by file: an extension module is initialised once per process.
_LOADED: dict[Path, Callable[..., Any]] = {}


def load_flee_day() -> Callable[..., Any] | None:
    """The day built ahead of time, or None if it is not built (or cannot be loaded here)."""
    path = extension_path()
    if path in _LOADED:
        return _LOADED[path]
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(_module_name(), path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:
        return None
    _LOADED[path] = module.flee_day
    return _LOADED[path]


def build_flee_day() -> Path | None:
    """Build the day ahead of time with ``numba.pycc`` (about 15 s); its path, or None if it
    cannot be built.

    Without numba (or its ``pycc``) None, and nothing is remembered: installing numba is
    enough. Any other failure (no C compiler, say) is remembered in a ``.failed`` file beside
    the module, holding the error, and later calls for the same source return None at once;
    delete that file to try again. Processes starting together may each build (the last
    ``os.replace`` wins; each file is whole).
    """
    target = extension_path()
    failed = target.with_suffix(".failed")
    if failed.exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pycc's pending-deprecation warning
            pycc: Any = importlib.import_module("numba.pycc")  # untyped
            from corridor.flee.day import flee_day
    except ImportError:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".build-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiler = pycc.CC(_module_name())
            compiler.output_dir = str(work)
            compiler.export("flee_day", SIGNATURE)(flee_day.py_func)
            compiler.compile()
        (built,) = work.glob(f"{_module_name()}*")
        os.replace(built, target)  # atomic: another process loads the whole file or none
    except Exception as e:
        failed.write_text(f"{type(e).__name__}: {e}\n", encoding="utf-8")
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def flee_day_function(ahead_of_time: bool = True) -> Callable[..., Any]:
    """The compiled day to run: the one built ahead of time (built first if it is missing),
    else, or without ``ahead_of_time``, the one numba compiles at run time (or loads from its
    cache).

    Raises
    ------
    FleeInputError
        Neither a built day nor numba is there.
    """
    day = load_flee_day() if ahead_of_time else None
    if day is None and ahead_of_time and build_flee_day() is not None:
        day = load_flee_day()
        if day is None:  # built, yet it does not load here: do not build it at every run
            failed = extension_path().with_suffix(".failed")
            failed.write_text("built, but it does not load\n", encoding="utf-8")
    if day is not None:
        return day
    try:
        from corridor.flee.day import flee_day, import_arraymath_without_scipy_linalg
    except ImportError as e:
        raise FleeInputError(f"{NEEDS_NUMBA}: {e}") from None
    import_arraymath_without_scipy_linalg()
    return flee_day


def check_day_arrays(tuples: tuple[tuple[Any, ...], ...]) -> None:
    """Check that the day's array tuples (``Agents``, ``Places``, ``Links``, ``Weights``) have
    the :data:`ARRAY_TYPES` (a wrong type would crash the built day, not raise).

    Raises
    ------
    TypeError
        An array of another type or not one-dimensional, or a tuple of another length.
    """
    # dtype objects compare in C; ``dtype.name`` is computed in Python (84 us a day, 25 ms a run).
    for k, (arrays, types) in enumerate(zip(tuples, _ARRAY_DTYPES, strict=True)):
        if tuple(a.dtype for a in arrays) != types or any(a.ndim != 1 for a in arrays):
            got = tuple(f"{a.dtype.name}[{a.ndim}d]" for a in arrays)
            raise TypeError(f"compiled Flee day, argument tuple {k}: {got}, expected 1-d {ARRAY_TYPES[k]}")
