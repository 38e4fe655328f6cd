"""CalibrationResult and the posterior's weighted quantiles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.evidence import ValidationResult


# ------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` produced.

    Attributes
    ----------
    posterior : DataFrame
        One row per particle of the last generation: a column per dotted path, ``weight``.
    posterior_path, scenario_path, db_path, summary_path : Path
        ``posterior.parquet``, the calibrated scenario, the pyabc database, ``calibration.json``.
    summary : dict
        Generations, simulations, posterior and prior quantiles per parameter.
    validation : ValidationResult or None
        ``evidence.validate`` of the calibrated scenario (posterior medians, seeds vary).
    predictive : ValidationResult or None
        Runs with parameters drawn from the posterior (posterior predictive check).
    """

    posterior: pd.DataFrame
    posterior_path: Path
    scenario_path: Path
    db_path: Path
    summary_path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    validation: ValidationResult | None = None
    predictive: ValidationResult | None = None


def weighted_quantile(
    values: npt.ArrayLike, weights: npt.ArrayLike, qs: Iterable[float]
) -> npt.NDArray[np.float64]:
    """Quantiles of weighted draws (the inverse of the weighted empirical CDF, midpoint rule)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v)
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.asarray(list(qs), dtype=float), cdf, v)


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")
