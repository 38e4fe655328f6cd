"""Diagnostic (not adopted): the committed backtest with the interdiction factors shrunk toward 1
where few people were counted.

    python benchmarks/shrunk_interdiction.py OUT_FOLDER [K]

Each pilot round's factor is shrunk toward 1 in log space by the weight n / (n + K), n the
persons of the nationality counted in the fit month (Mexico's events and US encounters), K =
2,000 by default (an assumption, not tuned). Otherwise the committed command (docs/backtest.md,
"What limits the scores"; about 13 minutes on 2 cores with the compiled engine).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

import corridor.backtest.run as run
from corridor.backtest import pilot
from corridor.backtest.origins import parse_origins

ORIGINS = "2019-03:2023-11:3,2023-05"


def shrunk_factors(k: float) -> Callable[..., dict[str, float]]:
    """``pilot.interdiction_factors``, each factor shrunk toward 1 by n / (n + k)."""

    def fit(
        run_values: pilot.RunValues,
        rows: pd.DataFrame,
        n_fit: int,
        nationalities: list[str],
        origin: str | None = None,
        openings: Mapping[str, dt.date] | None = None,
    ) -> dict[str, float]:
        factors = pilot.interdiction_factors(run_values, rows, n_fit, nationalities, origin, openings)
        sums = pilot._fit_sums(run_values, rows, n_fit, origin, pilot.CATCH_MONTHS, openings)
        counted = sums["observed"].groupby(level=0).sum()
        out = {}
        for nationality, factor in factors.items():
            n = float(counted.get(nationality, 0.0))
            out[nationality] = float(np.exp(n / (n + k) * np.log(factor)))
        return out

    return fit


if __name__ == "__main__":  # the runs' worker processes import this file
    run.interdiction_factors = shrunk_factors(float(sys.argv[2]) if len(sys.argv) > 2 else 2000.0)
    run.run_backtest(
        "scenarios/mexico-2018-2024.yaml",
        parse_origins(ORIGINS),
        Path(sys.argv[1]),
        horizons=6,
        draws=40,
        keep=10,
        history_months=16,
        agents=100_000,
    )
