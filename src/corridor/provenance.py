"""Facts about where and with what a result was computed: versions, the machine, memory.

The one owner of these facts: ``run.json``, ensemble manifests and the benchmarks all
record them through :func:`versions`, :func:`machine` and :func:`peak_rss_bytes`.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

__all__ = ["machine", "peak_rss_bytes", "portable_path", "portable_paths", "total_memory_bytes", "versions"]


def versions() -> dict[str, str]:
    """Versions of corridor, Python and the libraries whose numbers its outputs depend on."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from corridor._version import __version__

    return {
        "corridor": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }


def portable_path(path: str | Path) -> str:
    """``path`` as a record should name it: relative to the working folder where it lies
    inside it (a committed result then names ``scenarios/x.yaml``, which resolves in any
    clone, not the folder of the checkout that made it), else absolute."""
    absolute = Path(os.path.abspath(path))  # links are kept: a linked data folder stays inside
    try:
        return absolute.relative_to(Path(os.path.abspath(Path.cwd()))).as_posix()
    except ValueError:
        return str(absolute)


def portable_paths(
    info: dict[str, Any], keys: tuple[str, ...] = ("scenario", "observed_files")
) -> dict[str, Any]:
    """A copy of ``info`` with the paths under ``keys`` (a path or a list of paths) made
    :func:`portable_path`: for the JSON records beside results."""
    out = dict(info)
    for key in keys:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [portable_path(v) for v in value]
        elif isinstance(value, (str, Path)):
            out[key] = portable_path(value)
    return out


def _cpu_model() -> str:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 0


def total_memory_bytes() -> int | None:
    """Physical memory of the machine, where the platform tells."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    """The machine: platform, CPU model, logical and usable CPUs, physical memory."""
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": _usable_cpus(),
        "memory_bytes": total_memory_bytes(),
    }


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
