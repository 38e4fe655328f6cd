"""Scenarios compared over the same seeds (common random numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.report.outcomes import monthly_outcomes, outcome_totals
from corridor.runner.executors import Executor, run_many
from corridor.runner.progress import Progress
from corridor.runner.single import simulate

#: The files ``corridor compare`` writes into its folder (``compare_summary.csv`` last, as its marker).
COMPARE_OUTPUTS = ("compare.html", "compare_monthly.csv", "compare_summary.csv")


@dataclass(frozen=True)
class Comparison:
    """Outcomes of several scenarios over the same seeds.

    Attributes
    ----------
    totals : DataFrame
        One row per (scenario, seed), one column per main outcome.
    monthly : DataFrame
        Rows (scenario, seed, month), outcome columns.
    scenarios : list of str
        Scenario names, the first being the reference.
    """

    totals: pd.DataFrame
    monthly: pd.DataFrame
    scenarios: list[str]

    def summary(self) -> pd.DataFrame:
        """Per scenario and outcome: median and 5-95% range over seeds, and the paired
        difference from the reference scenario (median and 5-95% over seeds)."""
        ref = self.scenarios[0]
        rows = []
        base = pd.DataFrame(self.totals.xs(ref, level="scenario"))
        for sc in self.scenarios:
            t = pd.DataFrame(self.totals.xs(sc, level="scenario"))
            diff = pd.DataFrame(t - base)
            for outcome in t.columns:
                rows.append(
                    {
                        "scenario": sc,
                        "outcome": outcome,
                        "median": t[outcome].median(),
                        "q05": t[outcome].quantile(0.05),
                        "q95": t[outcome].quantile(0.95),
                        "diff_median": diff[outcome].median(),
                        "diff_q05": diff[outcome].quantile(0.05),
                        "diff_q95": diff[outcome].quantile(0.95),
                    }
                )
        return pd.DataFrame(rows)


def _compare_run(
    options: tuple[int | None, float | None, Mapping[str, Any] | None], run: tuple[str | Path, int]
) -> tuple[str, pd.Series, pd.DataFrame]:
    """One run of a comparison (a task of :func:`corridor.runner.run_many`): its scenario's
    name, main outcomes and monthly outcomes."""
    agents, scale, overrides = options
    path, seed = run
    res = simulate(path, seed=seed, agents=agents, scale=scale, overrides=overrides)
    return str(res.info["scenario"]), outcome_totals(res), monthly_outcomes(res)


def compare(
    scenarios: Sequence[str | Path],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    agents: int | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Run each scenario with each seed and collect the main outcomes.

    The runs go to ``executor`` (default: one after the other in this process, see
    :mod:`corridor.runner.executors`); ``progress`` is told of each.
    """
    seeds = list(seeds)
    runs = [(path, seed) for path in scenarios for seed in seeds]
    work = partial(_compare_run, (agents, scale, overrides))
    done = run_many(work, runs, executor=executor, progress=progress, description="compare")
    totals, monthly, names = [], [], []
    for k in range(len(scenarios)):
        name = ""
        for j, seed in enumerate(seeds):
            name, total, m = done[k * len(seeds) + j]
            totals.append(total.rename((name, seed)))
            m.index = pd.MultiIndex.from_product(
                [[name], [seed], m.index], names=["scenario", "seed", "month"]
            )
            monthly.append(m)
        names.append(name)
    t = pd.DataFrame(totals)
    t.index = pd.MultiIndex.from_tuples(t.index, names=["scenario", "seed"])
    return Comparison(totals=t, monthly=pd.concat(monthly), scenarios=names)
