"""The sensitivity folder: tables, the page, and sensitivity.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corridor.atomic import write_text_atomically
from corridor.outputs import check_output_folder

if TYPE_CHECKING:
    from corridor.sensitivity.analysis import SensitivityResult


# --------------------------------------------------------------------------- outputs


def sensitivity_html(result: SensitivityResult, path: str | Path) -> Path:
    """Write a self-contained HTML heatmap of the scores, parameters x outcomes."""
    import plotly.graph_objects as go

    scores = result.scores()
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
            hovertext=hover,
            hoverinfo="text",
            colorscale="Blues",
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
    out = Path(path)
    write_text_atomically(out, fig.to_html(full_html=True, include_plotlyjs=True))
    return out


#: The files ``corridor sensitivity`` writes into its folder (``sensitivity.json``, last, marks it).
SENSITIVITY_OUTPUTS = ("sensitivity.csv", "samples.csv", "sensitivity.html", "sensitivity.json")


def write_sensitivity(
    result: SensitivityResult, out_dir: str | Path, *, force: bool = False
) -> dict[str, Path]:
    """Write ``sensitivity.csv`` (the ranked indices), ``samples.csv`` (every run's draw and
    outcomes), ``sensitivity.html`` (the heatmap) and ``sensitivity.json`` (the options).

    A folder holding files corridor did not write is refused (:class:`OutputError`) unless
    ``force``; then the files are written beside them, and they are kept."""
    folder = Path(out_dir)
    check_output_folder(folder, SENSITIVITY_OUTPUTS, "sensitivity.json", force=force, what="--out")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": folder / "sensitivity.csv",
        "samples": folder / "samples.csv",
        "html": folder / "sensitivity.html",
        "json": folder / "sensitivity.json",
    }
    write_text_atomically(paths["csv"], result.indices.to_csv(index=False))
    write_text_atomically(paths["samples"], result.samples.to_csv(index_label="run"))
    sensitivity_html(result, paths["html"])
    meta = {**copy.deepcopy(result.info), "baseline": result.baseline.to_dict()}
    write_text_atomically(paths["json"], json.dumps(meta, indent=2, default=str) + "\n")
    return paths
