"""How well each rule forecasts the upstream counts past a cut-off (no simulation, seconds).

The inflows derived from upstream counts (``derived: upstream_entries``: Honduras' irregular
entries and Panama's Darien crossings, by nationality) are data up to the inputs' cut-off and
then a forecast of those counts: ``corridor.observations.inflows._fill`` takes the last derived
month. This script measures that rule against its alternatives on the derived inflows
themselves (the scenario's monthly persons of each such inflow, from the shipped data without
the held-out rows: months before 1 December 2023 only), never on an outcome, with every month
from ``--first`` to ``--last`` as a cut-off:

* ``last``: the last month before the cut-off (the rule);
* ``mean3``: the mean of the last three (the rule until December 2026);
* ``ses``: simple exponential smoothing on log1p of the last 24 months (statsmodels);
* ``damped``: Holt's damped additive trend on the same (statsmodels).

Prints the median and mean |log1p error| per rule and months ahead, over every such inflow.
Usage::

    python benchmarks/upstream_fill.py [--scenario scenarios/mexico-2018-2024.yaml] \
        [--first 2019-03] [--last 2023-11] [--horizons 6]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from corridor.observations.inflows import derive_inflows
from corridor.scenario import load_scenario

#: Months of history the smoothing rules are fitted on (the others read at most three).
SMOOTHING_MONTHS = 24
#: Months a cut-off needs before it to be scored (the smoothers' least).
MIN_HISTORY = 6


def _forecasts(log_history: np.ndarray, horizons: int) -> dict[str, np.ndarray]:
    """Each rule's forecast of log1p counts for 1..horizons months past the history."""
    recent = log_history[-SMOOTHING_MONTHS:]
    out = {
        "last": np.repeat(log_history[-1], horizons),
        "mean3": np.repeat(np.log1p(np.expm1(log_history[-3:]).mean()), horizons),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, trend in (("ses", None), ("damped", "add")):
            model = ExponentialSmoothing(
                recent, trend=trend, damped_trend=trend is not None, initialization_method="estimated"
            )
            out[name] = np.asarray(model.fit().forecast(horizons))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="scenarios/mexico-2018-2024.yaml")
    parser.add_argument("--first", default="2019-03", help="first cut-off month (YYYY-MM)")
    parser.add_argument("--last", default="2023-11", help="last cut-off month (YYYY-MM)")
    parser.add_argument("--horizons", type=int, default=6)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    upstream = {i for i, inflow in enumerate(scenario.inflows) if inflow.derived == "upstream_entries"}
    derived = derive_inflows(scenario)  # the shipped data, held-out rows dropped
    derived = derived[derived["inflow"].isin(upstream) & (derived["basis"] == "data")]
    cutoffs = pd.period_range(args.first, args.last, freq="M")
    rows = []
    for nationality, inflow in derived.groupby("nationality"):
        months = pd.PeriodIndex(inflow["month"], freq="M")
        counts = pd.Series(inflow["persons"].to_numpy(dtype=float), index=months)
        for cutoff in cutoffs:
            history = counts[counts.index < cutoff]
            if len(history) < MIN_HISTORY:
                continue
            forecasts = _forecasts(np.log1p(history.to_numpy()), args.horizons)
            for h in range(1, args.horizons + 1):
                month = cutoff + (h - 1)
                if month not in counts.index:
                    continue
                truth = float(np.log1p(counts[month]))
                rows += [(nationality, h, rule, abs(f[h - 1] - truth)) for rule, f in forecasts.items()]
    errors = pd.DataFrame(rows, columns=["nationality", "horizon", "rule", "abs_log_error"])
    by = errors.groupby(["rule", "horizon"])["abs_log_error"]
    pd.set_option("display.width", 120)
    print(f"cut-offs {args.first} to {args.last}; {len(errors) // 4:,} forecasts per rule")
    print("median |log1p error|\n" + by.median().unstack().round(3).to_string())
    print("mean |log1p error|\n" + by.mean().unstack().round(3).to_string())


if __name__ == "__main__":
    main()
