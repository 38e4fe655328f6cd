"""What the dashboard draws from a run: monthly outcomes, the map's data, the charts and the totals.

Nothing here imports Dash: the figures are plain plotly figures, and :class:`RunView` is
what the dashboard keeps of a run (the monthly tables, not the daily arrays), so a cached
run is small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.metrics import Results, metric_kind
from corridor.report.html import (
    AXIS,
    BACKGROUND,
    DIFFERENCE_FEWER,
    DIFFERENCE_MORE,
    EDITED_RUN,
    GRID,
    SHADE,
    UNCHANGED_RUN,
    ZERO_LINE,
)
from corridor.report.maps import MAP_METRICS
from corridor.report.outcomes import monthly_outcomes

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "PANELS",
    "RunView",
    "difference_figure",
    "headline_rows",
    "monthly_by_place",
    "monthly_figure",
    "most_changed_metric",
    "run_view",
]


@dataclass(frozen=True)
class Panel:
    """One chart of the dashboard: an outcome of :func:`corridor.report.monthly_outcomes`."""

    outcome: str
    title: str
    unit: str
    flow: bool


#: The outcomes the dashboard charts, each on its own scale. Flows are the month's total;
#: stocks the count on the month's last day.
PANELS: tuple[Panel, ...] = (
    Panel("arrivals", "Entries into Mexico (re-entries included)", "persons in the month", True),
    Panel("interdictions", "Caught in Mexico (checkpoints, raids)", "persons in the month", True),
    Panel("deportations", "Deported from Mexico", "persons in the month", True),
    Panel("bused_south", "Bused back to southern Mexico", "persons in the month", True),
    Panel("stranded_tapachula", "Stranded in Tapachula", "persons at the month's end", False),
    Panel("stranded_north", "Stranded in northern border cities", "persons at the month's end", False),
    Panel("asylum_applications", "Asylum claims filed (COMAR)", "persons in the month", True),
    Panel("asylum_pending", "Asylum claims pending (COMAR)", "persons at the month's end", False),
    Panel("visas_issued", "Humanitarian visitor cards issued", "persons in the month", True),
    Panel("us_encounters", "US Border Patrol encounters", "persons in the month", True),
    Panel("us_admitted_port", "Let in at US ports (metering, CBP One)", "persons in the month", True),
    Panel("deaths", "Dead or missing", "persons in the month", True),
)


@dataclass(frozen=True)
class RunView:
    """What the dashboard keeps of one run.

    Attributes
    ----------
    monthly : DataFrame
        :func:`corridor.report.monthly_outcomes` of the run (index: month periods).
    by_place : DataFrame
        :func:`monthly_by_place` of the run, for the map.
    spin_up_months : list of Timestamp
        Months that overlap the scenario's spin-up.
    info : dict
        The run's facts (scenario, seed, agents, persons per agent, wall seconds).
    """

    monthly: pd.DataFrame
    by_place: pd.DataFrame
    spin_up_months: list[pd.Timestamp] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _month_starts(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return dates.to_period("M").to_timestamp()


def monthly_by_place(results: Results, metrics: Sequence[str] = tuple(MAP_METRICS)) -> pd.DataFrame:
    """The map's data: each metric by month and place, summed over nationalities.

    Stocks are taken on the month's last day, flows summed over the month (see
    :func:`corridor.metrics.metric_kind`). ``detained_over_capacity`` is the people held
    beyond the stations' capacity at each place (detained minus detention_capacity, at
    least 0).

    Returns
    -------
    DataFrame
        Tidy: ``month`` (Timestamp of the month's first day), ``metric``, ``place``,
        ``value`` (persons); zero rows are left out.
    """
    months = _month_starts(results.dates)
    frames = []
    for name in metrics:
        if name == "detained_over_capacity":
            held = results.values("detained").sum(axis=2)
            daily = np.maximum(held - np.nan_to_num(results.per_place("detention_capacity")), 0.0)
            flow = False
        else:
            arr = results.values(name)
            daily = arr.sum(axis=2) if arr.ndim == 3 else np.nan_to_num(arr)
            flow = metric_kind(name) == "flow"
        table = pd.DataFrame(daily, index=months, columns=results.places)
        grouped = table.groupby(level=0)
        per_month = grouped.sum() if flow else grouped.last()
        long = (
            per_month.rename_axis(index="month")
            .melt(ignore_index=False, var_name="place", value_name="value")
            .reset_index()
        )
        frames.append(long[long["value"] > 0].assign(metric=name))
    out = pd.concat(frames, ignore_index=True)
    if out.empty:  # the map needs a row to know the months
        out = pd.DataFrame({"month": [months[0]], "place": [results.places[0]], "value": [0.0]}).assign(
            metric=metrics[0]
        )
    return out[["month", "metric", "place", "value"]]


def most_changed_metric(edited: RunView, unchanged: RunView, first: str = "stranded") -> str:
    """The map metric the levers changed most, relative to its size (``first`` if none changed).

    The map opens on it, so that the change shows on the map and not only in the charts.
    """

    def totals(view: RunView) -> pd.Series:
        return view.by_place.groupby("metric")["value"].sum()

    new, old = totals(edited), totals(unchanged)
    names = new.index.union(old.index)
    new, old = new.reindex(names, fill_value=0.0), old.reindex(names, fill_value=0.0)
    change: pd.Series = (new - old).abs() / np.maximum(old, 1.0)
    return str(change.idxmax()) if len(change) and change.max() > 0.01 else first


def run_view(results: Results, spin_up_days: int) -> RunView:
    """Reduce a run to what the dashboard shows (:class:`RunView`)."""
    months = _month_starts(results.dates)
    spin_up = sorted(set(months[:spin_up_days])) if spin_up_days > 0 else []
    keep = ("scenario", "seed", "agents", "scale_persons_per_agent", "wall_seconds", "days")
    return RunView(
        monthly=monthly_outcomes(results),
        by_place=monthly_by_place(results),
        spin_up_months=[pd.Timestamp(m) for m in spin_up],
        info={k: results.info[k] for k in keep if k in results.info},
    )


def _grid(rows: int, cols: int, titles: Sequence[str], height: int) -> go.Figure:
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles), vertical_spacing=0.07)
    fig.update_layout(
        height=height,
        margin={"l": 50, "r": 20, "t": 90, "b": 40},
        plot_bgcolor=BACKGROUND,
        # Above the panels' titles, in the top margin: inside the plot it would cover them.
        legend={"orientation": "h", "x": 0, "y": 1, "yref": "container", "yanchor": "top", "font_size": 13},
        hovermode="x unified",
    )
    fig.update_annotations(font_size=12)
    fig.update_xaxes(showgrid=False, linecolor=AXIS, tickformat="%b %Y")
    fig.update_yaxes(gridcolor=GRID, rangemode="tozero", tickformat="~s")
    return fig


def _shade_spin_up(fig: go.Figure, spin_up: Sequence[pd.Timestamp], rows: int, cols: int) -> None:
    """Shade the spin-up months (the model filling up from empty) in every panel."""
    if not spin_up:
        return
    x0 = min(spin_up) - pd.Timedelta(days=15)
    x1 = max(spin_up) + pd.Timedelta(days=15)
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            fig.add_vrect(x0=x0, x1=x1, fillcolor=SHADE, line_width=0, layer="below", row=r, col=c)


def _titles(panels: Sequence[Panel]) -> list[str]:
    return [f"<b>{p.title}</b><br><span style='font-size:11px'>{p.unit}</span>" for p in panels]


def monthly_figure(
    edited: RunView, unchanged: RunView, *, panels: Sequence[Panel] = PANELS, cols: int = 3
) -> go.Figure:
    """Monthly charts of the main outcomes: the edited scenario against the unchanged one.

    One panel per outcome, each on its own scale; both runs use the same seed (common
    random numbers), so their difference is the levers' effect plus little noise.
    """
    import plotly.graph_objects as go

    rows = -(-len(panels) // cols)
    fig = _grid(rows, cols, _titles(panels), 280 * rows)
    x_edit = pd.PeriodIndex(edited.monthly.index).to_timestamp()
    x_base = pd.PeriodIndex(unchanged.monthly.index).to_timestamp()
    for k, panel in enumerate(panels):
        r, c = k // cols + 1, k % cols + 1
        for view, x, name, colour, dash in (
            (unchanged, x_base, "unchanged scenario", UNCHANGED_RUN, "dot"),
            (edited, x_edit, "with your levers", EDITED_RUN, "solid"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=view.monthly[panel.outcome].to_numpy(),
                    name=name,
                    legendgroup=name,
                    showlegend=k == 0,
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": colour, "dash": dash, "width": 2},
                    hovertemplate="%{y:,.0f}",
                ),
                row=r,
                col=c,
            )
    _fix_flat_panels(fig)
    _shade_spin_up(fig, edited.spin_up_months, rows, cols)
    return fig


def _fix_flat_panels(fig: go.Figure) -> None:
    """Give a panel whose values are all zero a range of whole persons (not 0.2 = "200m")."""
    largest: dict[str, float] = {}
    for trace in fig.data:
        axis = trace.yaxis or "y"
        top = float(np.nanmax(np.abs(np.asarray(trace.y, dtype=float)), initial=0.0))
        largest[axis] = max(largest.get(axis, 0.0), top)
    for axis, top in largest.items():
        if top < 1.0:
            layout_axis = fig.layout["yaxis" + axis.removeprefix("y")]
            layout_axis.update(range=[-10 if layout_axis.rangemode == "normal" else 0, 10])


def difference_figure(
    edited: RunView, unchanged: RunView, *, panels: Sequence[Panel] = PANELS, cols: int = 3
) -> go.Figure:
    """Bars of the edited scenario minus the unchanged one, month by month, per outcome."""
    import plotly.graph_objects as go

    rows = -(-len(panels) // cols)
    fig = _grid(rows, cols, _titles(panels), 250 * rows)
    both = edited.monthly.index.intersection(unchanged.monthly.index)
    x = pd.PeriodIndex(both).to_timestamp()
    for k, panel in enumerate(panels):
        r, c = k // cols + 1, k % cols + 1
        diff = (
            edited.monthly.loc[both, panel.outcome] - unchanged.monthly.loc[both, panel.outcome]
        ).to_numpy()
        fig.add_trace(
            go.Bar(
                x=x,
                y=diff,
                name="with your levers minus unchanged",
                showlegend=False,
                marker={"color": [DIFFERENCE_MORE if d > 0 else DIFFERENCE_FEWER for d in diff]},
                hovertemplate="%{y:+,.0f}<extra></extra>",
            ),
            row=r,
            col=c,
        )
    fig.update_yaxes(rangemode="normal", zeroline=True, zerolinecolor=ZERO_LINE)
    _fix_flat_panels(fig)
    _shade_spin_up(fig, edited.spin_up_months, rows, cols)
    return fig


def headline_rows(edited: RunView, unchanged: RunView, panels: Sequence[Panel] = PANELS) -> pd.DataFrame:
    """Totals over the horizon (flows) or peaks (stocks), for both runs and their difference.

    Returns
    -------
    DataFrame
        Columns ``outcome``, ``measure`` (what the number is), ``unchanged``, ``edited``,
        ``difference`` (edited minus unchanged, persons).
    """
    rows = []
    for p in panels:
        a, b = unchanged.monthly[p.outcome], edited.monthly[p.outcome]
        base, new = (float(a.sum()), float(b.sum())) if p.flow else (float(a.max()), float(b.max()))
        measure = "total over the horizon" if p.flow else "highest month-end count"
        rows.append(
            {
                "outcome": p.title,
                "measure": measure,
                "unchanged": base,
                "edited": new,
                "difference": new - base,
            }
        )
    return pd.DataFrame(rows)
