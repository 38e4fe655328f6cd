"""The comparison page (``corridor compare``): paired differences and monthly bands.

Built by :func:`corridor.report.html.page`, like the validation page
(:mod:`corridor.evidence.html`) and the sensitivity page (:mod:`corridor.sensitivity.page`).
The comparison is passed in; this module imports its type for type checking only.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corridor.report.html import Section, add_band, colour, write_page

if TYPE_CHECKING:
    from corridor.report.comparison import Comparison

__all__ = ["comparison_html"]


def _difference_bars(comparison: Comparison) -> Any:
    import plotly.graph_objects as go

    summary = comparison.summary()
    outcomes = list(comparison.totals.columns)
    bars = go.Figure()
    for k, sc in enumerate(comparison.scenarios[1:], start=1):
        s = summary[summary.scenario == sc].set_index("outcome").loc[outcomes]
        bars.add_bar(
            name=sc,
            x=outcomes,
            y=s["diff_median"],
            marker_color=colour(k),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": s["diff_q95"] - s["diff_median"],
                "arrayminus": s["diff_median"] - s["diff_q05"],
            },
        )
    ref = comparison.scenarios[0]
    bars.update_layout(title=f"Difference from {ref} (median over seeds, 5-95% range)", barmode="group")
    return bars


def _monthly_bands(comparison: Comparison) -> Any:
    from plotly.subplots import make_subplots

    outcomes = list(comparison.totals.columns)
    rows = (len(outcomes) + 1) // 2
    series = make_subplots(rows=rows, cols=2, subplot_titles=outcomes)
    for k, sc in enumerate(comparison.scenarios):
        m = comparison.monthly.xs(sc, level="scenario")
        q = m.groupby(level="month").quantile(np.array([0.05, 0.5, 0.95])).unstack()
        x = [str(p) for p in q.index]
        for i, outcome in enumerate(outcomes):
            r, c = i // 2 + 1, i % 2 + 1
            band = q[outcome]
            add_band(series, x, band[0.05], band[0.95], colour=colour(k), group=sc, row=r, col=c)
            series.add_scatter(
                x=x,
                y=band[0.5],
                mode="lines",
                name=sc,
                line={"color": colour(k)},
                showlegend=i == 0,
                legendgroup=sc,
                row=r,
                col=c,
            )
    series.update_layout(height=260 * rows, title="Main outcomes by month (median, 5-95% band over seeds)")
    return series


def comparison_html(comparison: Comparison, path: str | Path) -> Path:
    """Write a self-contained HTML page: paired differences from the reference, and monthly
    series of each outcome with the 5-95% band over seeds."""
    figures = [_difference_bars(comparison), _monthly_bands(comparison)]
    seeds = comparison.totals.xs(comparison.scenarios[0], level="scenario").index.nunique()
    intro = escape(
        f"Each scenario was run over the same {seeds} seeds (common random numbers), so a "
        f"difference is paired seed by seed. The reference is {comparison.scenarios[0]}."
    )
    heading = "corridor compare: " + " vs ".join(comparison.scenarios)
    return write_page(path, "corridor compare", [Section(figures=figures)], heading=heading, intro=intro)
