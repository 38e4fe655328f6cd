"""Observed data: the shipped CSVs and their reader, the held-out rule, the mapping onto
simulated metrics, and where and who an observed row is about.

This package is an input, like the scenario: the inputs derived from data (inflows) read it
through :func:`load_observed` with a cut-off, and :mod:`corridor.evidence` compares runs with it.
It imports nothing above the input layer.
"""

from __future__ import annotations

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
    "Rule",
    "held_out_mask",
    "load_mapping",
    "load_observed",
    "observed_files",
]
