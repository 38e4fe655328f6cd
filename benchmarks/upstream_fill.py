"""How well each rule forecasts the upstream-derived inflows past a cut-off (no simulation, a minute).

The inflows derived from upstream counts (``derived: upstream_entries``: ``upstream_share`` x the
larger of Honduras' irregular entries and Panama's Darien crossings moved by their lag, by
nationality) are data up to the inputs' cut-off and then a forecast of themselves:
``corridor.observations.inflows._fill`` takes the last derived month. This script measures that
rule against its alternatives on the derived inflows (never on an outcome), with every month
from ``--first`` to ``--last`` as a cut-off. The inflows are derived once, with the scenario's
cut-offs set to 1 December 2023, the shipped data's held-out date (the upstream counts are not
held out, but the backtest reads nothing of that month or later); a cut-off's history is the
derived months before it, which read only counts ending before it (the Darien lag is positive).

* ``persistence``: the last month before the cut-off (the rule), ``mean3``: the mean of the
  last three (the rule until December 2026), ``ets``: damped-trend ETS on log1p: the backtest's
  baselines (:func:`corridor.backtest.baselines.baseline_forecast`), medians;
* ``ses``: simple exponential smoothing on log1p of the last 24 months (statsmodels).

Prints the median and mean |log1p error| per rule and months ahead, over every such inflow.
Usage::

    python benchmarks/upstream_fill.py [--scenario scenarios/mexico-2018-2024.yaml] \\
        [--first 2019-03] [--last 2023-11] [--horizons 6]
"""

from __future__ import annotations

import argparse
import datetime as dt
import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from corridor.backtest.baselines import baseline_forecasts
from corridor.observations.inflows import derive_inflows
from corridor.observations.reader import HELD_OUT_FROM
from corridor.scenario import load_scenario

#: The backtest's baselines compared (medians).
BASELINES = ("persistence", "mean3", "ets")
#: Months of history simple exponential smoothing is fitted on.
SMOOTHING_MONTHS = 24
#: Months a cut-off needs before it to be scored.
MIN_HISTORY = 6


def _forecasts(history: pd.Series, cutoff: pd.Period, horizons: int) -> dict[str, np.ndarray]:
    """Each rule's forecast of log1p of the inflow for 1..horizons months from ``cutoff``."""
    made = baseline_forecasts(history, cutoff, horizons, np.random.default_rng(0), BASELINES).table
    out = {m: np.log1p(made.loc[made["method"] == m, "median"].to_numpy(dtype=float)) for m in BASELINES}
    recent = np.log1p(history.to_numpy(dtype=float))[-SMOOTHING_MONTHS:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = ExponentialSmoothing(recent, trend=None, initialization_method="estimated")
        out["ses"] = np.asarray(model.fit().forecast(horizons))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="scenarios/mexico-2018-2024.yaml")
    parser.add_argument("--first", default="2019-03", help="first cut-off month (YYYY-MM)")
    parser.add_argument("--last", default="2023-11", help="last cut-off month (YYYY-MM)")
    parser.add_argument("--horizons", type=int, default=6)
    args = parser.parse_args()

    cutoff_day = dt.date.fromisoformat(f"{HELD_OUT_FROM:%Y-%m-%d}")
    scenario = load_scenario(args.scenario).model_copy(
        update={"inputs_cutoff": cutoff_day, "upstream_known_until": None}
    )
    upstream = {i for i, inflow in enumerate(scenario.inflows) if inflow.derived == "upstream_entries"}
    derived = derive_inflows(scenario)
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
            forecasts = _forecasts(history, cutoff, args.horizons)
            for h in range(1, args.horizons + 1):
                month = cutoff + (h - 1)
                if month not in counts.index:
                    continue
                truth = float(np.log1p(counts[month]))
                rows += [(nationality, h, rule, abs(f[h - 1] - truth)) for rule, f in forecasts.items()]
    errors = pd.DataFrame(rows, columns=["nationality", "horizon", "rule", "abs_log_error"])
    by = errors.groupby(["rule", "horizon"])["abs_log_error"]
    pd.set_option("display.width", 120)
    per_rule = len(errors) // errors["rule"].nunique()
    print(f"cut-offs {args.first} to {args.last}; {per_rule:,} forecasts per rule")
    print("median |log1p error|\n" + by.median().unstack().round(3).to_string())
    print("mean |log1p error|\n" + by.mean().unstack().round(3).to_string())


if __name__ == "__main__":
    main()
