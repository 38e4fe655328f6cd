"""Numbers in sentences: rounding, and intervals over runs labelled by how many runs made them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["MIN_RUNS_FOR_QUANTILES", "bounds", "interval_label", "persons", "with_interval"]

#: Below this many runs an interval is the range of the runs, not a 5-95% interval: with
#: fewer than 20 runs, fewer than one run in 20 lies beyond each of the 5% and 95% quantiles,
#: which are then only interpolations between the extreme runs. The one threshold of every
#: page, table and printout (ensembles, comparisons, reports).
MIN_RUNS_FOR_QUANTILES = 20


def interval_label(n_runs: int, unit: str = "run") -> str:
    """What an interval over ``n_runs`` runs (or other ``unit``: draws) is: their range when
    few, else 5-95%."""
    units = unit if n_runs == 1 else f"{unit}s"
    if n_runs < MIN_RUNS_FOR_QUANTILES:
        return f"range of {n_runs} {units}"
    return f"5-95% over {n_runs} {units}"


def bounds(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Low and high of an interval across runs (axis 0): range when few runs, else 5-95%."""
    if values.shape[axis] < MIN_RUNS_FOR_QUANTILES:
        return values.min(axis=axis), values.max(axis=axis)
    return np.quantile(values, 0.05, axis=axis), np.quantile(values, 0.95, axis=axis)


def persons(value: float) -> str:
    """A count for a sentence: three significant figures, thousands separated."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) < 1000:
        return f"{value:,.0f}"
    digits = math.floor(math.log10(abs(value))) - 2
    return f"{round(value, -digits):,.0f}"


def with_interval(values: Sequence[float]) -> str:
    """The median over runs, with the interval when there are several runs."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return f"<b>{persons(float(arr[0]))}</b>"
    lo, hi = bounds(arr)
    if lo == hi:
        return f"<b>{persons(float(lo))}</b> (the same in all {arr.size} runs)"
    return (
        f"<b>{persons(float(np.median(arr)))}</b> ({interval_label(arr.size)}: "
        f"{persons(float(lo))} to {persons(float(hi))})"
    )
