"""Scenarios compared over the same seeds (common random numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.errors import InputError
from corridor.report.differences import describe_comparison
from corridor.report.figures import bounds, interval_label
from corridor.report.outcomes import MAIN_OUTCOMES, monthly_outcomes, outcome_totals
from corridor.report.runs import digest
from corridor.runner.executors import Executor, run_many
from corridor.runner.progress import Progress
from corridor.runner.single import simulate
from corridor.scenario import load_scenario

#: The files ``corridor compare`` writes into its folder (``compare_summary.csv`` last, as its
#: marker); ``compare.json`` says what was compared (:attr:`Comparison.about`),
#: ``compare_places.csv`` holds the map's figures (:attr:`Comparison.by_place`), ``report.html``
#: is written by ``corridor report``.
COMPARE_OUTPUTS = (
    "compare.html",
    "compare.json",
    "compare_monthly.csv",
    "compare_places.csv",
    "compare_summary.csv",
    "report.html",
)


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
    about : dict
        What was compared (:func:`corridor.report.differences.describe_comparison`): the
        scenarios' files, descriptions and events, the seeds, agents, and each scenario's
        changed fields and events; empty if unknown.
    by_place : DataFrame or None
        The map's figures (:data:`corridor.report.maps.MAP_METRICS`) by scenario, month and
        place, the median over seeds: columns ``scenario, month, place, metric, value``.
    """

    totals: pd.DataFrame
    monthly: pd.DataFrame
    scenarios: list[str]
    about: dict[str, Any] = field(default_factory=dict)
    by_place: pd.DataFrame | None = None

    @classmethod
    def from_monthly(
        cls, monthly: pd.DataFrame, about: dict[str, Any] | None = None, by_place: pd.DataFrame | None = None
    ) -> Comparison:
        """Rebuild a comparison from its monthly table (``compare_monthly.csv``, read back).

        The totals over the horizon follow from the months: flows summed, stocks (see
        :data:`corridor.report.outcomes.MAIN_OUTCOMES`) at the last month.
        """
        frame = monthly.set_index(["scenario", "seed", "month"]) if "scenario" in monthly.columns else monthly
        grouped = frame.groupby(level=["scenario", "seed"], sort=False)
        totals = pd.DataFrame(
            {
                name: grouped[name].sum() if how == "flow" else grouped[name].last()
                for name, _, how in MAIN_OUTCOMES
            }
        )
        names = list(dict.fromkeys(frame.index.get_level_values("scenario")))
        return cls(totals=totals, monthly=frame, scenarios=names, about=dict(about or {}), by_place=by_place)

    @property
    def n_seeds(self) -> int:
        """How many seeds each scenario ran with."""
        return int(self.totals.index.get_level_values("seed").nunique())

    def summary(self) -> pd.DataFrame:
        """Per scenario and outcome: the median and an interval over seeds, and the paired
        difference from the reference scenario (median and interval over seeds).

        The interval is the range of the seeds' values (lowest to highest) with fewer than
        :data:`corridor.report.figures.MIN_RUNS_FOR_QUANTILES` seeds, else 5-95%: the
        ``interval`` column says which ("range of 3 runs", "5-95% over 20 runs"), as the
        comparison's page does.

        Returns
        -------
        DataFrame
            One row per scenario and outcome: ``scenario, outcome, median, low, high,
            diff_median, diff_low, diff_high, interval`` (persons; the reference scenario's
            differences are 0).
        """
        ref = self.scenarios[0]
        label = interval_label(self.n_seeds)
        rows = []
        base = pd.DataFrame(self.totals.xs(ref, level="scenario"))
        for sc in self.scenarios:
            t = pd.DataFrame(self.totals.xs(sc, level="scenario"))
            diff = pd.DataFrame(t - base)
            for outcome in t.columns:
                values = t[outcome].to_numpy(dtype=np.float64)
                differences = diff[outcome].to_numpy(dtype=np.float64)
                low, high = bounds(values)
                diff_low, diff_high = bounds(differences)
                rows.append(
                    {
                        "scenario": sc,
                        "outcome": outcome,
                        "median": float(np.median(values)),
                        "low": float(low),
                        "high": float(high),
                        "diff_median": float(np.median(differences)),
                        "diff_low": float(diff_low),
                        "diff_high": float(diff_high),
                        "interval": label,
                    }
                )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """A short summary for notebooks: per outcome, the reference scenario's median and each
        other scenario's paired difference from it."""
        from corridor.notebook import comparison_html

        return comparison_html(self.summary(), self.scenarios, self.n_seeds)


def follow_events(overrides: Mapping[str, Any], first: Sequence[str], other: Sequence[str]) -> dict[str, Any]:
    """``overrides`` for another compared scenario: a path that names an event by its index in
    the first scenario (``events.29.set...``, events named ``first``) is moved to the index of
    the event of the same name in the other (events named ``other``); one the other lacks (a
    counterfactual that drops it) is left out. Other paths are kept as they are.

    So one set of overrides (a posterior draw's, say) acts on the same events in a scenario and
    in a counterfactual that drops earlier ones, where indices alone would name other events.
    """
    # The k-th event of a name in the first is the k-th of that name in the other.
    where: dict[tuple[str, int], int] = {}
    for i, name in enumerate(other):
        where[(name, sum(1 for n in other[:i] if n == name))] = i
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        if len(parts) > 1 and parts[0] == "events" and parts[1].isdigit() and int(parts[1]) < len(first):
            index = int(parts[1])
            name = first[index]
            found = where.get((name, sum(1 for n in first[:index] if n == name)))
            if found is None:
                continue
            key = ".".join(["events", str(found), *parts[2:]])
        out[str(key)] = value
    return out


def _event_names(path: str | Path) -> list[str]:
    """The names of a scenario file's events, in order."""
    return [e.name for e in load_scenario(path).events]


def _compare_run(
    options: tuple[int | None, float | None], run: tuple[str | Path, int, Mapping[str, Any] | None]
) -> tuple[str, pd.Series, pd.DataFrame, pd.DataFrame]:
    """One run of a comparison (a task of :func:`corridor.runner.run_many`): its scenario's
    name, main outcomes, monthly outcomes and the map's monthly figures by place."""
    agents, scale = options
    path, seed, overrides = run
    res = simulate(path, seed=seed, agents=agents, scale=scale, overrides=overrides)
    spin_up = int(res.info.get("spin_up_days", 0))
    places = digest(res.to_frame(), res.dates, res.places, spin_up).month_place
    return str(res.info["scenario"]), outcome_totals(res), monthly_outcomes(res), places


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
    :mod:`corridor.runner.executors`); ``progress`` is told of each. ``overrides`` apply to
    every scenario; a path naming an event by index names the first scenario's event, and
    acts on the event of the same name in the others (:func:`follow_events`).
    """
    seeds = list(seeds)
    given_overrides = dict(overrides or {})
    if any(str(k).startswith("events.") for k in given_overrides) and len(scenarios) > 1:
        first = _event_names(scenarios[0])
        each = [given_overrides] + [
            follow_events(given_overrides, first, _event_names(p)) for p in scenarios[1:]
        ]
    else:
        each = [given_overrides for _ in scenarios]
    models = [load_scenario(path, o) for path, o in zip(scenarios, each, strict=True)]  # fails fast
    given = [m.name for m in models]
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
        raise InputError(
            f"scenarios: each compared scenario needs its own name; {', '.join(map(repr, twice))} "
            "is the name of more than one (set a different 'name' in one of the files)"
        )
    runs = [(path, seed, o or None) for path, o in zip(scenarios, each, strict=True) for seed in seeds]
    work = partial(_compare_run, (agents, scale))
    done = run_many(work, runs, executor=executor, progress=progress, description="compare")
    totals, monthly, names = [], [], []
    by_place = []
    for k in range(len(scenarios)):
        name = ""
        maps = []
        for j, seed in enumerate(seeds):
            name, total, m, places = done[k * len(seeds) + j]
            maps.append(places)
            totals.append(total.rename((name, seed)))
            m.index = pd.MultiIndex.from_product(
                [[name], [seed], m.index], names=["scenario", "seed", "month"]
            )
            monthly.append(m)
        names.append(name)
        by_place.append(_median_by_place(name, maps))
    t = pd.DataFrame(totals)
    t.index = pd.MultiIndex.from_tuples(t.index, names=["scenario", "seed"])
    about = describe_comparison(models, [str(p) for p in scenarios], seeds, agents, scale)
    return Comparison(
        totals=t, monthly=pd.concat(monthly), scenarios=names, about=about, by_place=pd.concat(by_place)
    )


def _median_by_place(scenario: str, runs: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The median over seeds of the runs' monthly figures by place, tidy."""
    median = pd.concat(runs, keys=range(len(runs)), names=["run"]).groupby(level=["month", "place"]).median()
    tidy = pd.DataFrame(median.stack()).reset_index()
    tidy.columns = ["month", "place", "metric", "value"]
    return tidy.assign(scenario=scenario)[["scenario", "month", "place", "metric", "value"]]
