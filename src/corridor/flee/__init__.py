"""Networks in Flee's input format, and the movement-only comparison with Flee 3.1.

`Flee <https://flee.readthedocs.io>`_ describes a network with four CSV files in one folder:

``locations.csv``
    ``name, region, country, gps_x, gps_y, location_type, conflict_date, pop/cap`` and, after
    these eight, optional custom attribute columns named in the ``#`` header line. Lines that
    are empty or whose first cell starts with ``#`` are headers or comments.
``routes.csv``
    ``name1, name2, distance, forced_redirection`` (the fourth column optional), then optional
    custom attributes; each row is a two-way link.
``closures.csv`` (optional here)
    ``closure_type, name1, name2, closure_start, closure_end``.
``sim_period.csv`` (optional here)
    ``StartDate,YYYY-MM-DD`` and ``Length,days``.

The parsing rules are those of Flee 3.1 (``flee/InputGeography.py``): the first eight
columns are positional whatever the header says; the location type is recognised by
substring (``camp``, with ``idp`` an IDP camp; ``conflict``; ``forward``; ``marker``;
``town`` or ``default``); a conflict zone with a ``conflict_date`` after day 0 starts as a
town; a blank ``pop/cap`` is 0, and a camp with capacity below 1 is unlimited. Where Flee
would crash or silently guess, :func:`load_flee_network` raises a :class:`FleeInputError`
naming the file, line and column.

:func:`load_flee_network` returns a :class:`FleeNetwork`: a corridor
:class:`~corridor.geography.Network` (every route a ``road`` walked on ``foot``) plus what
Flee needs beyond it (location types, camp capacities, conflict dates, closures). The
movement-only engine that runs Flee's rules on it lives in
:mod:`corridor.flee.kernel`; :func:`bench_flee_network` is ``corridor bench
flee-network``. A whole Flee 3.1 / FabFlee conflict folder (registration data, conflicts.csv,
``simsetting.yml``) is read by :func:`load_flee_conflict` and run day by day, as Flee's
run.py runs it, by :func:`run_flee_conflict` (``corridor flee run``), which gives Flee's
out.csv and, through :func:`flee_ard`, Flee's ARD. The differences from Flee are listed in
``docs/flee.md``.
"""

from __future__ import annotations

from corridor.errors import FleeInputError
from corridor.flee.bench import bench_flee_network
from corridor.flee.conflict import FleeConflict, load_flee_conflict
from corridor.flee.network import (
    CLOSURE_TYPES,
    LOCATION_KINDS,
    Closure,
    FleeNetwork,
    bundled_flee_corridor,
    load_flee_network,
)
from corridor.flee.run import FleeConflictRun, flee_ard, run_flee_conflict, write_out_csv
from corridor.flee.settings import FleeSettings, read_simsetting

__all__ = [
    "CLOSURE_TYPES",
    "LOCATION_KINDS",
    "Closure",
    "FleeConflict",
    "FleeConflictRun",
    "FleeInputError",
    "FleeNetwork",
    "FleeSettings",
    "bench_flee_network",
    "bundled_flee_corridor",
    "flee_ard",
    "load_flee_conflict",
    "load_flee_network",
    "read_simsetting",
    "run_flee_conflict",
    "write_out_csv",
]

#: Location kinds, as Flee 3.1 recognises them from ``location_type``.
