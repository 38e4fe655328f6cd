"""``report.html``: the page a reader who never saw corridor can read.

:func:`write_report` writes it into a folder written by ``corridor run``, ``corridor
ensemble`` or ``corridor compare``: the headline figures in sentences, a map of the corridor
with a month slider, and monthly charts with their units, bands and observed values. It is
built by :func:`corridor.report.html.page` (plotly.js inlined, no external address) and
written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.errors import InputError
from corridor.report.figures import MIN_RUNS_FOR_QUANTILES, bounds, interval_label, persons, with_interval
from corridor.report.html import OUTLINE, Section, add_band, colour, page
from corridor.report.maps import MAP_METRICS, corridor_map_figure
from corridor.report.pages import comparison_report_html
from corridor.report.runs import (
    CHART_METRICS,
    DEATHS_BY_MODE,
    OVER_CAPACITY,
    RunSet,
    kind_of,
    month_values,
    read_runset,
    stacked,
)

__all__ = ["REPORT_FILE", "observed_totals", "report_html", "write_report"]

#: The report's file name in its folder.
REPORT_FILE = "report.html"
#: Observed national monthly totals drawn on the charts: metric -> (series, geography).
#: Only series that count the same thing as the metric's total over every place (see
#: ``corridor/data/evidence/mapping.yaml``); the rule's ``subtract`` is applied.
OBSERVED_TOTALS: dict[str, tuple[str, str]] = {
    "interdictions": ("mx_irregular_events", "Mexico"),
    "deportations": ("mx_returns", "Mexico"),
    "us_encounters": ("usbp_sw_encounters", "US Southwest land border"),
    "asylum_applications": ("comar_asylum_applications", "Mexico"),
}


def _after_spin_up(runs: RunSet) -> list[pd.DataFrame]:
    return [d.daily.iloc[runs.spin_up_days :] for d in runs.digests]


def _headline(runs: RunSet) -> str:
    """The headline figures as sentences (HTML)."""
    daily = _after_spin_up(runs)
    start, end = daily[0].index[0], daily[0].index[-1]

    def total(metric: str) -> list[float]:
        return [float(d[metric].sum()) for d in daily]

    def peak(metric: str) -> tuple[list[float], pd.Timestamp]:
        values = [float(d[metric].max()) for d in daily]
        mean = pd.concat([d[metric] for d in daily], axis=1).mean(axis=1)
        return values, pd.Timestamp(mean.index[int(np.argmax(mean.to_numpy()))])

    who = _who(runs)
    items = [
        f"<b>Arrived</b>: {with_interval(total('arrivals'))} entries into the corridor. Arrivals count "
        "re-entries: a person deported who sets out again is counted again, so this is more "
        "than the number of different people.",
        f"<b>Caught</b>: {with_interval(total('interdictions'))} interdictions at checkpoints and in raids "
        f"(a person caught twice counts twice); {with_interval(total('detentions'))} admissions to "
        f"detention stations; {with_interval(total('deportations'))} deported to their country.",
    ]
    over, over_day = peak(OVER_CAPACITY)
    if max(over) > 0:
        items.append(
            f"<b>Detained beyond capacity</b>: on the worst day (about {_day(over_day)}) "
            f"{with_interval(over)} people were held beyond the stations' capacity (held minus "
            "capacity, added over the stations that were over it)."
        )
    else:
        items.append("<b>Detained beyond capacity</b>: no station held more people than its capacity.")
    items.append(
        f"<b>Bused south</b>: {with_interval(total('bused_south'))} taken from detention back to "
        "southern Mexico."
    )
    stranded, stranded_day = peak("stranded")
    places = pd.concat([d.stranded_places for d in runs.digests], axis=1).mean(axis=1)
    top = places[places > 0].sort_values(ascending=False).head(3)
    where = ", ".join(f"{escape(str(p))} ({persons(float(v))})" for p, v in top.items())
    items.append(
        f"<b>Stranded</b> (in the same state, at the same place, for 7 days or more): at the peak "
        f"(about {_day(stranded_day)}) {with_interval(stranded)} people"
        + (f", most of them in {where}." if where else ".")
    )
    deaths = total("deaths")
    by_mode = [(label, float(np.median(total(m)))) for m, label in DEATHS_BY_MODE]
    modes = ", ".join(f"{persons(v)} {label}" for label, v in by_mode if v > 0)
    items.append(
        f"<b>Died</b> (dead or missing): {with_interval(deaths)}"
        + (f"; by how they travelled: {modes}." if modes else ".")
    )
    items.append(
        f"<b>Reached the US border</b>: {with_interval(total('us_encounters'))} Border Patrol encounters "
        f"between ports; {with_interval(total('us_admitted_port'))} let in at ports of entry."
    )
    period = f"{_day(start)} to {_day(end)}"
    spin = (
        f" The first {runs.spin_up_days} days are the model's spin-up (it starts empty and fills "
        "up): the figures leave them out, and the charts shade them."
        if runs.spin_up_days
        else ""
    )
    lead = f"<p>Scenario <b>{escape(runs.scenario)}</b>, {period}, {who}.{spin} All figures are persons.</p>"
    return lead + "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _day(day: pd.Timestamp) -> str:
    """A date in words: 1 January 2019."""
    return f"{day.day} {day:%B %Y}"


def _who(runs: RunSet) -> str:
    agents = [a for a in runs.agents if a]
    size = f" of about {persons(float(np.median(agents)))} agents" if agents else ""
    scale = (
        f" (one agent stands for {runs.scale:.3g} persons, so counts move in steps of that size)"
        if runs.scale
        else ""
    )
    if runs.n_runs == 1:
        return f"one run (seed {runs.seeds[0]}){size}{scale}"
    seeds = f"seeds {min(runs.seeds)}-{max(runs.seeds)}" if runs.seeds else "several seeds"
    return (
        f"{runs.n_runs} runs ({seeds}){size}; a figure is the median over the runs, with the "
        f"{'range of the runs' if runs.n_runs < MIN_RUNS_FOR_QUANTILES else '5-95% interval'} after it"
    )


def _map_frame(runs: RunSet) -> pd.DataFrame:
    """Monthly values by place and metric, the median over runs (tidy: month, place, metric, value)."""
    frames = [d.month_place for d in runs.digests]
    median = pd.DataFrame(
        np.median(stacked(frames), axis=0), index=frames[0].index, columns=frames[0].columns
    )
    tidy = pd.DataFrame(median.stack()).reset_index()
    tidy.columns = ["month", "place", "metric", "value"]
    return tidy


def _spin_up_months(runs: RunSet) -> list[pd.Timestamp]:
    if runs.spin_up_days <= 0:
        return []
    spin = runs.dates[: runs.spin_up_days]
    return sorted({pd.Timestamp(d.to_period("M").to_timestamp()) for d in spin})


def observed_totals(metrics: Sequence[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Observed monthly national totals of ``metrics`` between ``start`` and ``end``.

    The series of :data:`OBSERVED_TOTALS`, read by :func:`corridor.evidence.load_observed`
    (held-out rows are left out there), whole calendar months only, with the mapping's
    ``subtract`` applied (US encounters less those of Mexicans, who are not simulated).

    Returns
    -------
    DataFrame
        Columns ``metric, month`` (first day), ``value``, ``source``; empty when none.
    """
    from corridor.evidence import load_observed
    from corridor.observations.mapping import find_rule, load_mapping
    from corridor.observations.reader import monthly_rows

    columns = ["metric", "month", "value", "source"]
    wanted = {m: OBSERVED_TOTALS[m] for m in metrics if m in OBSERVED_TOTALS}
    if not wanted:
        return pd.DataFrame(columns=columns)
    rules = load_mapping()
    rows = monthly_rows(load_observed(mapping=rules))
    month_start = rows["month"].dt.to_timestamp()
    rows = rows[(month_start >= start.to_period("M").to_timestamp()) & (month_start <= end)]
    out = []
    for metric, (series, geography) in wanted.items():
        part = rows[(rows["series"] == series) & (rows["geography"] == geography)]
        rule = find_rule(rules, series, geography, "")
        if rule is None or rule.metric != metric:
            continue
        totals = part[part["breakdown"] == ""]
        for row in totals.itertuples(index=False):
            value = float(row.value)
            if rule.subtract:
                minus = part[(part["breakdown"] == rule.subtract) & (part["month"] == row.month)]
                if minus.empty:
                    continue  # cannot compare like with like that month
                value -= float(minus["value"].iloc[0])
            out.append((metric, row.month.to_timestamp(), value, str(row.source)))
    return pd.DataFrame(out, columns=columns)


def _charts(runs: RunSet, observed: pd.DataFrame) -> Any:
    from plotly.subplots import make_subplots

    monthly = [month_values(d.daily) for d in runs.digests]
    x = list(monthly[0].index)
    titles = []
    for metric, title in CHART_METRICS:
        how = (
            "flow: persons in the month"
            if kind_of(metric) == "flow"
            else "stock: persons on the month's last day"
        )
        titles.append(f"{title}<br><span style='font-size:11px'>{how}</span>")
    cols = 2
    rows = math.ceil(len(CHART_METRICS) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.45 / rows)
    band_name = interval_label(runs.n_runs)
    shown_observed = False
    for i, (metric, _) in enumerate(CHART_METRICS):
        r, c = i // cols + 1, i % cols + 1
        values = stacked([m[metric] for m in monthly])
        if runs.n_runs > 1:
            lo, hi = bounds(values)
            add_band(fig, x, lo, hi, colour=colour(0), group="simulated", opacity=0.3, row=r, col=c)
        fig.add_scatter(
            x=x,
            y=np.median(values, axis=0),
            mode="lines+markers",
            marker={"size": 4},
            line={"color": colour(0)},
            name="simulated" + (f" (median; band: {band_name})" if runs.n_runs > 1 else ""),
            legendgroup="simulated",
            showlegend=i == 0,
            hovertemplate="%{x|%B %Y}: %{y:,.0f}<extra></extra>",
            row=r,
            col=c,
        )
        obs = observed[observed["metric"] == metric]
        if len(obs):
            fig.add_scatter(
                x=obs["month"],
                y=obs["value"],
                mode="markers",
                marker={"color": OUTLINE, "symbol": "x", "size": 7},
                name="observed (see the list of sources below)",
                legendgroup="observed",
                showlegend=not shown_observed,
                hovertemplate="observed %{x|%B %Y}: %{y:,.0f}<extra></extra>",
                row=r,
                col=c,
            )
            shown_observed = True
        fig.update_yaxes(rangemode="tozero", tickformat="~s", row=r, col=c)
    if runs.spin_up_days:
        end = runs.dates[runs.spin_up_days]
        for i in range(len(CHART_METRICS)):
            fig.add_vrect(
                x0=x[0] - pd.Timedelta(days=15),
                x1=end,
                fillcolor=colour(7),
                opacity=0.15,
                line_width=0,
                row=i // cols + 1,
                col=i % cols + 1,
            )
    fig.update_xaxes(**_month_ticks(len(x)))
    fig.update_layout(
        height=290 * rows + 80,
        # Below the charts: above them it would sit on the first panels' titles.
        legend={"orientation": "h", "x": 0, "y": 0, "yanchor": "bottom", "yref": "container"},
        margin={"t": 60, "b": 90},
    )
    return fig


def _month_ticks(n_months: int) -> dict[str, str]:
    """Time-axis ticks that stay readable: monthly for a few months, yearly for many years."""
    if n_months > 48:
        return {"dtick": "M12", "tickformat": "%Y"}
    if n_months > 24:
        return {"dtick": "M6", "tickformat": "%b %Y"}
    return {"dtick": "M1" if n_months <= 8 else "M3", "tickformat": "%b %Y"}


def _sources(observed: pd.DataFrame) -> str:
    if observed.empty:
        return ""
    items = "".join(f"<li>{escape(s)}</li>" for s in sorted(set(observed["source"])))
    return (
        "<p>Observed values (crosses) are national monthly totals that count the same thing as "
        f"the simulated total. Their sources:</p><ul class='note sources'>{items}</ul>"
    )


def _map_intro(runs: RunSet) -> str:
    choices = ", ".join(escape(m.label) for m in MAP_METRICS.values())
    return (
        "<p>Each circle is a place of the model, its area and colour proportional to the "
        "chosen figure (the menu above the map: "
        f"{choices}); every place with coordinates is drawn, the smallest dots are places with none. "
        "Stocks are counted on the last day of the month, flows over the month. Lines are the "
        "routes the model knows, coloured by how people travel them"
        + (
            ", thicker the more people travelled them over the whole run (thinnest: unused)"
            if runs.route_use is not None
            else ""
        )
        + ". Move the slider under the "
        "map to change the month, or hover over a place for its figure"
        + (". The map shows the median over the runs." if runs.n_runs > 1 else ".")
        + " Outlines: Natural Earth and US Census Bureau (public domain).</p>"
    )


def _explain(runs: RunSet) -> str:
    spin = (
        f" The grey band at the start is the spin-up ({runs.spin_up_days} days: the model starts "
        "empty and fills up); it is not a result."
        if runs.spin_up_days
        else ""
    )
    return (
        "<p><b>How to read the charts.</b> A <i>flow</i> counts events in the month (arrivals, "
        "interdictions, deaths): months add up to a year. A <i>stock</i> counts people on the "
        "month's last day (stranded, detained, waiting): months never add up. Each chart has "
        f"its own scale.{spin}</p>"
    )


def report_html(runs: RunSet) -> str:
    """The report page of a run or an ensemble (HTML text)."""
    observed = observed_totals([m for m, _ in CHART_METRICS], runs.dates[0], runs.dates[-1])
    months = _spin_up_months(runs)
    frame = _map_frame(runs)
    first = "stranded" if frame.loc[frame["metric"] == "stranded", "value"].sum() > 0 else "waiting"
    metrics = [m for m in MAP_METRICS if m in set(frame["metric"])]
    frame = frame[frame["metric"].isin(metrics)]
    the_map = corridor_map_figure(frame, first, route_use=runs.route_use, spin_up_months=months)
    sections = [
        Section(heading="In short", text=_headline(runs)),
        Section(heading="Where people were: the corridor by month", text=_map_intro(runs), figures=[the_map]),
        Section(
            heading="Month by month",
            text=_explain(runs),
            figures=[_charts(runs, observed)],
        ),
        Section(text=_sources(observed) + _footer(runs)),
    ]
    title = f"{runs.scenario}: corridor report"
    return page(title, sections, heading=f"What happened in {runs.scenario}", intro="")


def _footer(runs: RunSet) -> str:
    source = f" from {escape(runs.scenario_path)}" if runs.scenario_path else ""
    return (
        f"<p class='note'>Written by <code>corridor report</code> from a {runs.kind} folder of "
        f"scenario {escape(runs.scenario)}{source}. The model is a simulation: its figures are what "
        "the scenario's assumptions imply, not measurements.</p>"
    )


def write_report(folder: str | Path) -> Path:
    """Write ``report.html`` into a folder written by ``corridor run``, ``ensemble`` or ``compare``.

    Parameters
    ----------
    folder : path
        The run's, ensemble's or comparison's folder (``run.json``, ``manifest.json`` or
        ``compare_summary.csv`` in it).

    Returns
    -------
    Path
        The written page (atomically replaced if it existed).

    Raises
    ------
    InputError
        The folder is not one corridor wrote, or its files cannot be read.
    """
    target = Path(folder)
    if not target.is_dir():
        raise InputError(
            f"RUN_DIR {target}: not a folder; expected one written by corridor run, ensemble or compare"
        )
    if (target / "compare_summary.csv").is_file():
        text = comparison_report_html(target)
    else:
        text = report_html(read_runset(target))
    out = target / REPORT_FILE
    write_text_atomically(out, text)
    return out
