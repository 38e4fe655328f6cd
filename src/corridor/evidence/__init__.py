"""Evidence: observed figures, how they map onto simulated metrics, and validation.

The observed data ship with the package (``corridor/data/observed``: ``observed.csv``,
``reported_in_press.csv`` and ``gdidata.csv``, one sourced value a row).
:func:`load_observed` reads them, or any CSV in the same format, checks the file (a regular
file of UTF-8 text, at most :data:`MAX_FILE_BYTES`), every row and that no observation comes
twice (errors are one-line :class:`EvidenceError` messages naming the file, line and column)
and returns one table in the format of :data:`COLUMNS`. The mapping from observed series to
simulated metrics is data (``corridor/data/evidence/mapping.yaml``, read by
:func:`load_mapping`); :func:`aggregate` applies one aggregation rule to a run, and
:func:`validate` runs a scenario over several seeds and compares every observed value
inside the horizon with the simulated median and 5-95% interval. ``docs/evidence.md``
documents the format, the mapping and the observation model.

Held out: enforcement and asylum outcomes for periods ending on or after
:data:`HELD_OUT_FROM` are withheld to test forecasts of the 2023-24 scenario. They are
dropped when the files are read unless ``include_held_out=True`` is asked for explicitly.
The upstream inflows of :data:`INPUT_SERIES` (Darien crossings, entries into Honduras) are
scenario inputs, never held out.
"""

from __future__ import annotations

from corridor.errors import EvidenceError
from corridor.evidence.plan import aggregate
from corridor.evidence.validation import ValidationResult, compare_observed, validate
from corridor.observations.mapping import Rule, load_mapping
from corridor.observations.reader import (
    COLUMNS,
    HELD_OUT_FROM,
    HELD_OUT_SERIES,
    INPUT_SERIES,
    held_out_mask,
    load_observed,
    observed_files,
)

__all__ = [
    "COLUMNS",
    "HELD_OUT_FROM",
    "HELD_OUT_SERIES",
    "INPUT_SERIES",
    "EvidenceError",
    "Rule",
    "ValidationResult",
    "aggregate",
    "compare_observed",
    "held_out_mask",
    "load_mapping",
    "load_observed",
    "observed_files",
    "validate",
]
