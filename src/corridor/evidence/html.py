"""The validation page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from corridor.atomic import write_text_atomically

if TYPE_CHECKING:
    from corridor.evidence.validation import ValidationResult


# ------------------------------------------------------------------------------- HTML
def _group_label(row: pd.Series) -> str:
    days = (pd.Timestamp(row["period_end"]) - pd.Timestamp(row["period_start"])).days + 1
    span = "monthly" if 28 <= days <= 31 else ("annual" if 365 <= days <= 366 else f"{days}-day")
    nat = row["nationalities"] if len(str(row["nationalities"])) <= 30 else str(row["breakdown"])
    return f"{row['where']} | {nat} | {span} {row['statistic']}"


def _html(result: ValidationResult, path: Path) -> Path:
    import plotly.graph_objects as go

    table = result.table
    summary = result.summary()
    figs = []
    palette = [
        "#1f77b4",
        "#d62728",
        "#2ca02c",
        "#9467bd",
        "#ff7f0e",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    for series, rows in table.groupby("series", sort=True):
        fig = go.Figure()
        labels = rows.apply(_group_label, axis=1)
        for k, (label, group) in enumerate(rows.groupby(labels, sort=True)):
            g = group.sort_values("period_end")
            x = pd.to_datetime(g["period_end"])
            color = palette[k % len(palette)]
            hover = [f"{p}<br>{b}" for p, b in zip(g["period"], g["breakdown"], strict=True)]
            if len(g) > 1:
                fig.add_scatter(
                    x=x,
                    y=g["sim_q95"],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    legendgroup=str(label),
                    hoverinfo="skip",
                )
                fig.add_scatter(
                    x=x,
                    y=g["sim_q05"],
                    mode="lines",
                    line={"width": 0, "color": color},
                    fill="tonexty",
                    opacity=0.2,
                    showlegend=False,
                    legendgroup=str(label),
                    hoverinfo="skip",
                )
            fig.add_scatter(
                x=x,
                y=g["sim_median"],
                mode="lines+markers" if len(g) > 1 else "markers",
                line={"color": color},
                name=f"simulated: {label}",
                legendgroup=str(label),
                text=hover,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": g["sim_q95"] - g["sim_median"],
                    "arrayminus": g["sim_median"] - g["sim_q05"],
                    "visible": len(g) == 1,
                },
            )
            fig.add_scatter(
                x=x,
                y=g["observed"],
                mode="markers",
                marker={
                    "symbol": "diamond",
                    "size": 9,
                    "color": color,
                    "line": {"width": 1, "color": "black"},
                },
                name=f"observed: {label}",
                legendgroup=str(label),
                text=hover,
            )
        scores = summary["per_series"].get(str(series), {})
        err = scores.get("median_abs_log_error")
        inside = scores.get("share_inside_90")
        fig.update_layout(
            title=(
                f"{series} ({rows['metric'].iloc[0]}): median |log error| "
                f"{'n/a' if err is None else f'{err:.2f}'}, inside 90% band "
                f"{'n/a' if inside is None else f'{inside:.0%}'} of {len(rows)}"
            ),
            xaxis_title="period end",
            yaxis_title="change" if (rows["statistic"] == "change").all() else "persons / events",
            height=480,
        )
        figs.append(fig)
    overall = summary["overall"]
    err_all, inside_all = overall["median_abs_log_error"], overall["share_inside_90"]
    head = (
        f"<h1>corridor validation: {summary.get('scenario', '')}</h1>"
        f"<p>{summary['runs']} runs (seeds {summary.get('seeds', '')}), about "
        f"{summary.get('agents', '')} agents, horizon {summary['horizon'][0]} to {summary['horizon'][1]}. "
        f"{overall['observations']} observed values compared; median absolute log error "
        f"{'n/a' if err_all is None else f'{err_all:.2f}'}, "
        f"share inside the simulated 90% interval "
        f"{'n/a' if inside_all is None else f'{inside_all:.0%}'}. "
        f"{summary['skipped_rows']} rows skipped; {summary['held_out_rows']} held-out rows not read "
        f"(periods ending on or after {summary['held_out_from']}).</p>"
    )
    per = result.per_series().to_html(float_format=lambda v: f"{v:.2f}", na_rep="")
    skipped = (
        result.skipped.groupby("reason")
        .size()
        .rename("rows")
        .sort_values(ascending=False)
        .to_frame()
        .to_html()
        if len(result.skipped)
        else ""
    )
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(
        path,
        "<!doctype html><html><head><meta charset='utf-8'><title>corridor validation</title></head><body>"
        + head
        + "<h2>Per series</h2>"
        + per
        + "".join(parts)
        + "<h2>Skipped observed rows</h2>"
        + skipped
        + "</body></html>",
    )
    return path
