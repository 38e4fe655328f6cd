"""The comparison page: paired differences and monthly bands, in plotly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corridor.atomic import write_text_atomically

if TYPE_CHECKING:
    from corridor.report.comparison import Comparison


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
