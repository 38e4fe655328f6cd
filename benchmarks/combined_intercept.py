"""Would ``corridor_combined`` gain from a bias term? Measured on a backtest's scores (seconds).

``corridor_combined`` (``corridor.backtest.combined``) regresses e = log1p(observed) -
log1p(persistence) on d = log1p(anchored) - log1p(persistence) through the origin, over the
track record of earlier origins. The anchored forecast's errors lean negative and grow with the
horizon (docs/backtest.md), so a bias might help: here the combination's median per row is
recomputed with the shipped weights (``combined._weights`` and ``combined._attach``, the same
record: rows of earlier origins whose month ended before the origin) plus a bias b per series,
level and horizon, the mean of what the shipped combination left on that record (e - w d),
shrunk toward 0 as if K pseudo-pairs at 0 were added: b = sum(e - w d) / (n + K). A very large
K gives the shipped method back (nested), which the first line checks.

Prints the median |log1p error| per K and horizon on the rows of the given scores. Usage::

    python benchmarks/combined_intercept.py [backtests/mexico-2018-2024/scores.parquet]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from corridor.backtest.combined import _attach, _paired, _weights

#: Pseudo-pairs at 0 of the bias tried; None is the shipped method (no bias).
PSEUDO_PAIRS: tuple[float | None, ...] = (None, 1e12, 60, 20, 6, 0)
_LEVEL = ["series", "level"]


def _bias(known: pd.DataFrame, weights: pd.DataFrame, pseudo_pairs: float) -> pd.DataFrame:
    """Per series, level and horizon of the record: the shrunk mean of e - w d."""
    with_w = _attach(known, weights, _LEVEL)
    left = (with_w["e"] - with_w["weight"] * with_w["d"]).rename("left")
    sums = pd.concat([with_w[[*_LEVEL, "horizon"]], left], axis=1).groupby([*_LEVEL, "horizon"])["left"]
    table = sums.agg(["sum", "size"]).reset_index()
    table["bias"] = table["sum"] / (table["size"] + pseudo_pairs)
    return table[[*_LEVEL, "horizon", "bias"]]


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "backtests/mexico-2018-2024/scores.parquet"
    paired = _paired(pd.read_parquet(path))
    record = paired[np.isfinite(paired["d"]) & np.isfinite(paired["e"])]
    record_origin = pd.PeriodIndex(record["origin"], freq="M")
    record_end = pd.to_datetime(record["period_end"])
    table = {}
    for pseudo_pairs in PSEUDO_PAIRS:
        errors = []
        for origin, rows in paired.groupby("origin", sort=True):
            month = pd.Period(str(origin), freq="M")
            known = record[(record_origin < month) & (record_end < month.start_time)]
            weights = _weights(known)
            rows = _attach(rows, weights, _LEVEL)
            centre = np.log1p(rows["median_p"]) + rows["weight"].fillna(0.5) * rows["d"]
            if pseudo_pairs is not None and not known.empty:
                bias = _attach(rows[[*_LEVEL, "horizon"]], _bias(known, weights, pseudo_pairs), _LEVEL)
                centre = centre + bias["bias"].fillna(0.0).to_numpy()
            centre = np.log1p(np.maximum(np.expm1(centre), 0.0))  # the shipped floor at 0
            error = (centre - np.log1p(rows["observed"])).abs()
            errors.append(pd.DataFrame({"horizon": rows["horizon"], "error": error}))
        frame = pd.concat(errors).dropna()
        name = "shipped (no bias)" if pseudo_pairs is None else f"bias, K = {pseudo_pairs:g}"
        table[name] = frame.groupby("horizon")["error"].median()
    print(f"{path}: median |log1p error| of corridor_combined's medians")
    print(pd.DataFrame(table).T.round(3).to_string())


if __name__ == "__main__":
    main()
