"""Would ``corridor_combined`` gain from a bias term? Measured on a backtest's scores (seconds).

``corridor_combined`` (``corridor.backtest.combined``) regresses e = log1p(observed) -
log1p(persistence) on d = log1p(anchored) - log1p(persistence) through the origin, over the
track record of earlier origins. The anchored forecast's errors lean negative and grow with the
horizon (docs/backtest.md), so a bias term, e = a + w d, might help. This script recomputes
the combination's median per row with the same record (rows of earlier origins whose month
ended before the origin, per series, level and horizon; horizons beyond the record take its
furthest) and four fits:

* ``through 0``: the method as shipped (slope clipped to [0, 1], shrunk toward 1/2 with
  ``PRIOR_PAIRS`` pseudo-pairs);
* ``bias, ridge K``: least squares with an intercept, the intercept's ridge penalty K (as K
  pseudo-pairs at 0) and the slope's as the shipped shrinkage, the slope then clipped to [0, 1].

Prints the median |log1p error| per fit and horizon on the rows of the given scores. Usage::

    python benchmarks/combined_intercept.py [backtests/mexico-2018-2024/scores.parquet]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from corridor.backtest.combined import PRIOR_PAIRS, _paired

#: Ridge penalties of the intercept tried (pseudo-pairs at 0); None is the shipped fit.
PENALTIES: tuple[int | None, ...] = (None, 6, 20, 60)


def _fit(d: np.ndarray, e: np.ndarray, penalty: int | None) -> tuple[float, float]:
    """(intercept, slope) from the record's pairs."""
    n = len(d)
    if penalty is None:
        dd = float(d @ d)
        slope = float(np.clip(d @ e / dd, 0.0, 1.0)) if dd > 0 else 0.5
        return 0.0, (n * slope + PRIOR_PAIRS * 0.5) / (n + PRIOR_PAIRS)
    if n < 3 or not d.var() > 0:
        return 0.0, 0.5
    scale = PRIOR_PAIRS * float(d @ d) / n  # the slope's pseudo-pairs, in d's units
    x = np.column_stack([np.ones(n), d])
    a, w = np.linalg.solve(x.T @ x + np.diag([penalty, scale]), x.T @ e + np.array([0.0, 0.5 * scale]))
    return float(a), float(np.clip(w, 0.0, 1.0))


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "backtests/mexico-2018-2024/scores.parquet"
    paired = _paired(pd.read_parquet(path))
    record = paired[np.isfinite(paired["d"]) & np.isfinite(paired["e"])]
    record_origin = pd.PeriodIndex(record["origin"], freq="M")
    record_end = pd.to_datetime(record["period_end"])
    table = {}
    for penalty in PENALTIES:
        errors = []
        for origin, rows in paired.groupby("origin"):
            month = pd.Period(str(origin), freq="M")
            known = record[(record_origin < month) & (record_end < month.start_time)]
            for (series, level, horizon), group in rows.groupby(["series", "level", "horizon"]):
                same = known[(known["series"] == series) & (known["level"] == level)]
                past = same[same["horizon"] == horizon]
                if past.empty and not same.empty:
                    past = same[same["horizon"] == same["horizon"].max()]
                a, w = _fit(past["d"].to_numpy(), past["e"].to_numpy(), penalty)
                centre = np.log1p(group["median_p"]) + a + w * group["d"]
                error = (centre - np.log1p(group["observed"])).abs()
                errors.append(pd.DataFrame({"horizon": horizon, "error": error}))
        frame = pd.concat(errors).dropna()
        name = "through 0" if penalty is None else f"bias, ridge {penalty}"
        table[name] = frame.groupby("horizon")["error"].median()
    print(f"{path}: median |log1p error| of corridor_combined's medians")
    print(pd.DataFrame(table).T.round(3).to_string())


if __name__ == "__main__":
    main()
