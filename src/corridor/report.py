"""Reports: main outcomes by month, comparisons of scenarios over seeds, HTML plots.

:func:`monthly_outcomes` condenses a run into the figures a shelter planner or a journalist
asks for first. :func:`compare` runs several scenarios over the same seeds (common random
numbers, so paired differences isolate the policy) and :func:`comparison_html` plots them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.metrics import Results
from corridor.runner.single import simulate

__all__ = [
    "COMPARE_OUTPUTS",
    "MAIN_OUTCOMES",
    "Comparison",
    "compare",
    "comparison_html",
    "monthly_outcomes",
    "outcome_totals",
]

#: The files ``corridor compare`` writes into its folder (``compare_summary.csv`` last, as its marker).
COMPARE_OUTPUTS = ("compare.html", "compare_monthly.csv", "compare_summary.csv")

#: Places whose stranded and unsheltered people the reports single out.
SOUTH = ("Tapachula",)
NORTH_KIND = "northern_border_city"

#: (name, metric, how): flows are summed over the period; stocks are taken at its end.
MAIN_OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("arrivals", "arrivals", "flow"),
    ("detentions", "detentions", "flow"),
    ("interdictions", "interdictions", "flow"),
    ("deportations", "deportations", "flow"),
    ("bused_south", "bused_south", "flow"),
    ("us_encounters", "us_encounters", "flow"),
    ("us_admitted_port", "us_admitted_port", "flow"),
    ("mpp_returns", "mpp_returns", "flow"),
    ("asylum_applications", "asylum_applications", "flow"),
    ("asylum_pending", "asylum_pending", "stock"),
    ("visas_issued", "visas_issued", "flow"),
    ("stranded_tapachula", "stranded", "stock:south"),
    ("unsheltered_tapachula", "unsheltered", "stock:south"),
    ("stranded_north", "stranded", "stock:north"),
    ("unsheltered_north", "unsheltered", "stock:north"),
    ("deaths", "deaths", "flow"),
)


def _place_mask(results: Results, where: str) -> np.ndarray:
    if where == "south":
        return np.isin(results.places, SOUTH)
    return np.asarray(results.place_kinds) == NORTH_KIND


def _daily(results: Results, metric: str, how: str) -> np.ndarray:
    """Per day: the metric summed over the places ``how`` selects and over nationalities."""
    arr = results.values(metric)
    if arr.ndim == 3:
        arr = arr.sum(axis=2)
    if ":" in how:
        arr = arr[:, _place_mask(results, how.split(":", 1)[1])]
    return np.nansum(arr, axis=1)


def monthly_outcomes(results: Results) -> pd.DataFrame:
    """Main outcomes by calendar month: flows summed over the month, stocks at its last day."""
    months = results.dates.to_period("M")
    cols: dict[str, pd.Series] = {}
    for name, metric, how in MAIN_OUTCOMES:
        series = pd.Series(_daily(results, metric, how), index=months)
        grouped = series.groupby(level=0)
        cols[name] = grouped.sum() if how == "flow" else grouped.last()
    frame = pd.DataFrame(cols)
    frame.index.name = "month"
    return frame


def outcome_totals(results: Results) -> pd.Series:
    """Main outcomes over the whole horizon: flows summed, stocks at the last day."""
    return pd.Series(
        {
            name: float(
                _daily(results, metric, how).sum() if how == "flow" else _daily(results, metric, how)[-1]
            )
            for name, metric, how in MAIN_OUTCOMES
        }
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


def compare(
    scenarios: Sequence[str | Path],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    agents: int | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Comparison:
    """Run each scenario with each seed and collect the main outcomes."""
    totals, monthly, names = [], [], []
    for path in scenarios:
        name = ""
        for seed in seeds:
            res = simulate(path, seed=seed, agents=agents, scale=scale, overrides=overrides)
            name = str(res.info["scenario"])
            totals.append(outcome_totals(res).rename((name, seed)))
            m = monthly_outcomes(res)
            m.index = pd.MultiIndex.from_product(
                [[name], [seed], m.index], names=["scenario", "seed", "month"]
            )
            monthly.append(m)
        names.append(name)
    t = pd.DataFrame(totals)
    t.index = pd.MultiIndex.from_tuples(t.index, names=["scenario", "seed"])
    return Comparison(totals=t, monthly=pd.concat(monthly), scenarios=names)


def comparison_html(comparison: Comparison, path: str | Path) -> Path:
    """Write a self-contained HTML page: paired differences from the reference, and monthly
    series of each outcome with the 5-95% band over seeds."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    summary = comparison.summary()
    outcomes = list(comparison.totals.columns)
    ref = comparison.scenarios[0]
    figs = []
    bars = go.Figure()
    for sc in comparison.scenarios[1:]:
        s = summary[summary.scenario == sc].set_index("outcome").loc[outcomes]
        bars.add_bar(
            name=sc,
            x=outcomes,
            y=s["diff_median"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": s["diff_q95"] - s["diff_median"],
                "arrayminus": s["diff_median"] - s["diff_q05"],
            },
        )
    bars.update_layout(title=f"Difference from {ref} (median over seeds, 5-95% range)", barmode="group")
    figs.append(bars)

    rows = (len(outcomes) + 1) // 2
    series = make_subplots(rows=rows, cols=2, subplot_titles=outcomes)
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for k, sc in enumerate(comparison.scenarios):
        m = comparison.monthly.xs(sc, level="scenario")
        q = m.groupby(level="month").quantile(np.array([0.05, 0.5, 0.95])).unstack()
        x = [str(p) for p in q.index]
        color = palette[k % len(palette)]
        for i, outcome in enumerate(outcomes):
            r, c = i // 2 + 1, i % 2 + 1
            band = q[outcome]
            series.add_scatter(
                x=x,
                y=band[0.95],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                legendgroup=sc,
                row=r,
                col=c,
            )
            series.add_scatter(
                x=x,
                y=band[0.05],
                mode="lines",
                line={"width": 0, "color": color},
                fill="tonexty",
                showlegend=False,
                legendgroup=sc,
                row=r,
                col=c,
            )
            series.add_scatter(
                x=x,
                y=band[0.5],
                mode="lines",
                name=sc,
                line={"color": color},
                showlegend=i == 0,
                legendgroup=sc,
                row=r,
                col=c,
            )
    series.update_layout(height=260 * rows, title="Main outcomes by month (median, 5-95% band over seeds)")
    figs.append(series)

    out = Path(path)
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    write_text_atomically(
        out,
        "<!doctype html><html><head><meta charset='utf-8'><title>corridor compare</title></head><body>"
        + "".join(parts)
        + "</body></html>",
    )
    return out
