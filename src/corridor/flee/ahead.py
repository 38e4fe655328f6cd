"""Flee's compiled day built ahead of time: an extension module that runs without numba.

With the day compiled by numba at run time, ``corridor flee run`` spends most of its start-up
on numba: importing it (about 0.5 s CPU) and loading the day from its cache (about 0.3 s more),
against a day loop of 0.07 s on a 300-day conflict of 15,000 people (docs/flee.md). numba's
``pycc`` compiles the same function, :func:`corridor.flee.day.flee_day`, into a plain extension
module, which loads in under a millisecond with NumPy alone. It is built once, on the first run
of the compiled kernel (about 15 s, a C compiler needed), and reused after.

The module is named after a digest of ``day.py``'s source and of its signature, so an edited
day is rebuilt, and lives in the cache folder (:func:`cache_dir`). A failed build is remembered
for that source (a ``.failed`` file holding the error) and not retried: the day is then
compiled by numba at run time, as before. ``numba.pycc`` has been pending deprecation since
numba 0.57 ("replacement technology is being developed"); where it is gone, that is the way
taken.
"""

from __future__ import annotations

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

__all__ = ["build_flee_day", "cache_dir", "extension_path", "flee_day_function", "load_flee_day"]

#: The types of :func:`corridor.flee.day.flee_day`'s arguments, as numba writes them: the seed,
#: then the tuples ``Agents``, ``Places``, ``Links``, ``Weights`` and ``Settings`` of that module.
SIGNATURE = (
    "int64(int64, "
    "Tuple((int32[:], int32[:], float64[:], float64[:], int32[:])), "
    "Tuple((int64[:], int64[:], int64[:], float64[:], float64[:], boolean[:], boolean[:], boolean[:], "
    "int64[:])), "
    "Tuple((int64[:], int64[:], int64[:], float64[:], float64[:], float64[:], float64[:], boolean[:])), "
    "Tuple((int64[:], int64[:], float64[:], float64[:], boolean[:])), "
    "Tuple((float64, float64, float64, float64, boolean, boolean, int64)))"
)
_DAY_SOURCE = Path(__file__).with_name("day.py")


def cache_dir() -> Path:
    """Where the built day is kept: ``$CORRIDOR_CACHE_DIR`` if set, else this package's
    ``__pycache__`` (where numba keeps its own cache) if it can be written, else
    ``~/.cache/corridor``."""
    if os.environ.get("CORRIDOR_CACHE_DIR"):
        return Path(os.environ["CORRIDOR_CACHE_DIR"])
    beside = Path(__file__).with_name("__pycache__")
    if os.access(beside if beside.exists() else beside.parent, os.W_OK):
        return beside
    return Path.home() / ".cache" / "corridor"


def _module_name() -> str:
    """The extension's module name: a digest of the day's source and signature."""
    digest = hashlib.sha256(_DAY_SOURCE.read_bytes() + SIGNATURE.encode()).hexdigest()[:16]
    return f"_flee_day_{digest}"


def extension_path() -> Path:
    """The file the built day is (or would be) in, for this source and this Python."""
    return cache_dir() / f"{_module_name()}{EXTENSION_SUFFIXES[0]}"


def load_flee_day() -> Callable[..., Any] | None:
    """The day built ahead of time, or None if it is not built (or cannot be loaded here)."""
    path = extension_path()
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(_module_name(), path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:  # built against another NumPy, say: the run-time compiled day is used
        return None
    day: Callable[..., Any] = module.flee_day
    return day


def build_flee_day() -> Path | None:
    """Build the day ahead of time with ``numba.pycc`` (about 15 s); its path, or None if the
    build fails (remembered: later calls for the same source return None at once)."""
    target = extension_path()
    failed = target.with_suffix(".failed")
    if failed.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".build-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pycc's pending-deprecation warning
            pycc: Any = importlib.import_module("numba.pycc")  # untyped

            from corridor.flee.day import flee_day

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
    cache)."""
    day = load_flee_day() if ahead_of_time else None
    if day is None and ahead_of_time and build_flee_day() is not None:
        day = load_flee_day()
    if day is not None:
        return day
    from corridor.flee.day import flee_day, import_arraymath_without_scipy_linalg

    import_arraymath_without_scipy_linalg()
    return flee_day
