"""The sensitivity page: the indices of each parameter on each outcome, as a heat map."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from corridor.report.html import HEATMAP_SCALE, Section, write_page

if TYPE_CHECKING:
    from corridor.sensitivity.analysis import SensitivityResult


def _sensitivity_hover(result: SensitivityResult, scores: pd.DataFrame) -> list[list[str]]:
    idx = result.indices.set_index(["parameter", "outcome"])
    hover = []
    for p in scores.index:
        row = []
        for o in scores.columns:
            r = idx.loc[(p, o)]
            if result.method == "morris":
                row.append(
                    f"{p}<br>{o}: rank {r['rank']}, score {r['score']:.2f}<br>"
                    f"mu* {r['mu_star']:,.0f} ± {r['mu_star_conf']:,.0f}, sigma {r['sigma']:,.0f}, "
                    f"mu {r['mu']:,.0f}<br>seed noise: mu* {r['mu_star_noise']:,.0f} "
                    f"(outcome sd over seeds {r['seed_sd']:,.0f})<br>"
                    f"baseline {r['baseline']:,.0f}, std over the sample {r['std']:,.0f}"
                )
            else:
                row.append(
                    f"{p}<br>{o}: rank {r['rank']}<br>ST {r['ST']:.2f} ± {r['ST_conf']:.2f}, "
                    f"S1 {r['S1']:.2f} ± {r['S1_conf']:.2f}<br>baseline {r['baseline']:,.0f}"
                )
        hover.append(row)
    return hover


def sensitivity_html(result: SensitivityResult, path: str | Path) -> Path:
    """Write a self-contained HTML heatmap of the scores, parameters x outcomes."""
    import plotly.graph_objects as go

    scores = result.scores()
    what = (
        "Morris mu* x sd(parameter) / sd(outcome)"
        if result.method == "morris"
        else "Sobol total-order index ST"
    )
    info = result.info
    fig = go.Figure(
        go.Heatmap(
            z=scores.to_numpy(),
            x=list(scores.columns),
            y=list(scores.index),
            text=np.round(scores.to_numpy(), 2),
            texttemplate="%{text}",
            hovertext=_sensitivity_hover(result, scores),
            hoverinfo="text",
            colorscale=HEATMAP_SCALE,
            zmin=0,
            colorbar={"title": "score"},
        )
    )
    fig.update_layout(
        title=(
            f"{info.get('scenario', '')}: which parameters move which outcomes ({what}); "
            f"{info.get('evaluations', '?')} runs of {info.get('agents') or 'default'} agents, seed "
            f"{info.get('seed', '?')}"
        ),
        height=max(400, 40 * len(scores.index) + 250),
        yaxis={"autorange": "reversed"},
        xaxis={"tickangle": -40},
        margin={"l": 320},
    )
    heading = f"corridor sensitivity: {info.get('scenario', '')}"
    intro = (
        "Each cell is how much one uncertain parameter moves one outcome over its range "
        f"({escape(what)}; 0 is no effect). Hover a cell for the raw indices."
    )
    return write_page(path, "corridor sensitivity", [Section(figures=[fig])], heading=heading, intro=intro)
