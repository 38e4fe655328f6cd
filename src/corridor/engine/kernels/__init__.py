"""Phases of the day compiled with numba: the same draws, in the same order, as the NumPy
phases, so a run gives the same bits whichever runs.

A phase written with NumPy arrays costs NumPy's fixed overhead per call, and a day makes
hundreds of calls on a few dozen agents each (issue 14: ``benchmarks/engine_phases.py``
measures it). Here a phase is one compiled loop over its agents. The run's own
``numpy.random.Generator`` is passed in: numba draws from its bit generator what NumPy
would (``random``, ``exponential``, ``permutation``, and
:func:`corridor.engine.randomness.new_key`'s key as ``integers`` with the end point
included), and leaves it in the same state. ``choice`` without replacement is not in numba:
the three draws that use it (CBP One's lottery, releases over a cut capacity, caravans) stay
in NumPy, between kernels.

Each kernel mirrors one NumPy phase step by step (the NumPy one stays the reference, and
``tests/test_engine_kernels.py`` checks that both give identical results); the comments name
the NumPy helper each block does. The modules: :mod:`~corridor.engine.kernels.common` (the
arrays the kernels take, the draws, the shared steps), then one per phase group. This package
imports numba: only :mod:`corridor.engine.accelerate` imports it, and only when numba is there.

numba caches each compiled function with the stamp of its own source file, not of the files
of the functions it calls, so a change to :mod:`~corridor.engine.kernels.common` alone would
leave the other modules' cached code stale. :func:`_drop_stale_cache` therefore makes numba
recompile the whole package when any of its sources changes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _drop_stale_cache(here: Path = Path(__file__).parent) -> bool:
    """Make numba recompile every kernel of this package if any of its sources changed since
    the last check, and say whether it did. The files' modification times are renewed, which
    is what numba's cache compares, wherever it keeps the cache (beside the sources,
    ``NUMBA_CACHE_DIR``, or the user's folder). The check is a hash of the sources kept in
    ``__pycache__``; where that cannot be written (a read-only install, whose sources do not
    change), nothing is done."""
    sources = sorted(here.glob("*.py"))
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    mark = here / "__pycache__" / "kernels-sources.sha256"
    try:
        if mark.is_file() and mark.read_text() == stamp:
            return False
        mark.parent.mkdir(exist_ok=True)
        for source in sources:
            os.utime(source)
        mark.write_text(stamp)
    except OSError:
        return False
    return True


#: Whether this process found the sources new to the cache (their first use compiles them).
CACHE_RENEWED = _drop_stale_cache()

from corridor.engine.kernels.asylum import asylum_day  # noqa: E402 (after the cache check)
from corridor.engine.kernels.books import arrivals_day, record_day, rows_in  # noqa: E402
from corridor.engine.kernels.border import border_cross_day, border_lists_day  # noqa: E402
from corridor.engine.kernels.common import (  # noqa: E402
    Codes,
    Net,
    PopArrays,
    RngBox,
    Routes,
    Today,
    codes_of,
    group_uniform_one,
    net_of,
    new_key,
    pop_of,
    routes_of,
    today_of,
)
from corridor.engine.kernels.detention import detention_admit_day, detention_outcomes_day  # noqa: E402
from corridor.engine.kernels.travel import decide_day, move_day, raids_day  # noqa: E402

__all__ = [
    "CACHE_RENEWED",
    "Codes",
    "Net",
    "PopArrays",
    "RngBox",
    "Routes",
    "Today",
    "arrivals_day",
    "asylum_day",
    "border_cross_day",
    "border_lists_day",
    "codes_of",
    "decide_day",
    "detention_admit_day",
    "detention_outcomes_day",
    "group_uniform_one",
    "move_day",
    "net_of",
    "new_key",
    "pop_of",
    "raids_day",
    "record_day",
    "routes_of",
    "rows_in",
    "today_of",
]
