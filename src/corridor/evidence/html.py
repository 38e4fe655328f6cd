"""The validation page: observed values beside the simulated medians and intervals, per series."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from corridor.report.html import OUTLINE, Section, add_band, colour, write_page


class ValidationResult(Protocol):
    """What the page reads of a :class:`corridor.evidence.ValidationResult` (a protocol, so that
    this module does not import the module that calls it)."""

    @property
    def table(self) -> pd.DataFrame: ...

    @property
    def skipped(self) -> pd.DataFrame: ...

    def summary(self) -> dict[str, Any]: ...

    def per_series(self) -> pd.DataFrame: ...


def _group_label(row: pd.Series) -> str:
    days = (pd.Timestamp(row["period_end"]) - pd.Timestamp(row["period_start"])).days + 1
    span = "monthly" if 28 <= days <= 31 else ("annual" if 365 <= days <= 366 else f"{days}-day")
    nat = row["nationalities"] if len(str(row["nationalities"])) <= 30 else str(row["breakdown"])
    return f"{row['where']} | {nat} | {span} {row['statistic']}"


def _share(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _add_group(fig: Any, label: str, g: pd.DataFrame, k: int) -> None:
    """The simulated band and median, and the observed values, of one group of rows."""
    x = pd.to_datetime(g["period_end"])
    hover = [f"{p}<br>{b}" for p, b in zip(g["period"], g["breakdown"], strict=True)]
    if len(g) > 1:
        add_band(fig, x, g["sim_q05"], g["sim_q95"], colour=colour(k), group=label, opacity=0.2, hover=False)
    fig.add_scatter(
        x=x,
        y=g["sim_median"],
        mode="lines+markers" if len(g) > 1 else "markers",
        line={"color": colour(k)},
        name=f"simulated: {label}",
        legendgroup=label,
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
        marker={"symbol": "diamond", "size": 9, "color": colour(k), "line": {"width": 1, "color": OUTLINE}},
        name=f"observed: {label}",
        legendgroup=label,
        text=hover,
    )


def _series_figure(series: str, rows: pd.DataFrame, scores: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    labels = rows.apply(_group_label, axis=1)
    for k, (label, group) in enumerate(rows.groupby(labels, sort=True)):
        _add_group(fig, str(label), group.sort_values("period_end"), k)
    err, inside = scores.get("median_abs_log_error"), scores.get("share_inside_90")
    fig.update_layout(
        title=(
            f"{series} ({rows['metric'].iloc[0]}): median |log error| {_share(err, '.2f')}, "
            f"inside 90% band {_share(inside, '.0%')} of {len(rows)}"
        ),
        xaxis_title="period end",
        yaxis_title="change" if (rows["statistic"] == "change").all() else "persons / events",
        height=480,
    )
    ends = pd.to_datetime(rows["period_end"])
    if ends.nunique() == 1:  # one date: plotly would zoom to milliseconds around it
        end = ends.iloc[0]
        fig.update_xaxes(range=[end - pd.Timedelta(days=45), end + pd.Timedelta(days=45)])
    return fig


def _validation_intro(summary: dict[str, Any]) -> str:
    overall = summary["overall"]
    return (
        f"{summary['runs']} runs (seeds {summary.get('seeds', '')}), about "
        f"{summary.get('agents', '')} agents, horizon {summary['horizon'][0]} to {summary['horizon'][1]}. "
        f"{overall['observations']} observed values compared; median absolute log error "
        f"{_share(overall['median_abs_log_error'], '.2f')}, share inside the simulated 90% interval "
        f"{_share(overall['share_inside_90'], '.0%')}. {summary['skipped_rows']} rows skipped; "
        f"{summary['held_out_rows']} held-out rows not read "
        f"(periods ending on or after {summary['held_out_from']})."
    )


def validation_html(result: ValidationResult, path: str | Path) -> Path:
    """Write a self-contained HTML page: the scores per series, then per series the observed
    values beside the simulated median and 90% band, then the skipped rows by reason."""
    summary = result.summary()
    figures = [
        _series_figure(str(series), rows, summary["per_series"].get(str(series), {}))
        for series, rows in result.table.groupby("series", sort=True)
    ]
    # The series as a column, so the table has one header row.
    per = result.per_series().reset_index().to_html(index=False, float_format=lambda v: f"{v:.2f}", na_rep="")
    skipped = result.skipped
    by_reason = (
        skipped.groupby("reason").size().rename("rows").sort_values(ascending=False).to_frame().to_html()
        if len(skipped)
        else ""
    )
    sections = [
        Section("Per series", tables=[per]),
        Section(figures=figures),
        Section("Skipped observed rows", tables=[by_reason]),
    ]
    heading = f"corridor validation: {summary.get('scenario', '')}"
    return write_page(
        path, "corridor validation", sections, heading=heading, intro=_validation_intro(summary)
    )


def _html(result: ValidationResult, path: Path) -> Path:
    """Write ``validation.html`` (see :func:`validation_html`)."""
    return validation_html(result, path)
