"""The comparison page (``corridor compare``): what was compared, the differences, by month.

Built by :func:`corridor.report.html.page`, like the validation page
(:mod:`corridor.evidence.html`) and the sensitivity page (:mod:`corridor.sensitivity.page`).
The page says which scenarios were compared and how they differ (changed fields and
events), with which seeds and agents, and the sign convention of a difference in words;
each outcome gets its own panel on its own scale, and the policy dates are marked.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.errors import InputError
from corridor.report.figures import bounds, interval_label, persons
from corridor.report.html import OUTLINE, Section, add_band, colour, page
from corridor.report.maps import MAP_METRICS, corridor_map_figure
from corridor.report.outcomes import MAIN_OUTCOMES, OUTCOME_LABELS

if TYPE_CHECKING:
    from corridor.report.comparison import Comparison

__all__ = ["comparison_html", "comparison_page", "comparison_report_html"]

#: Panels per row of the comparison's grids.
_COLS = 3


def _kind(outcome: str) -> str:
    how = {name: how for name, _, how in MAIN_OUTCOMES}.get(outcome, "flow")
    return "flow" if how == "flow" else "stock"


def _label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome.replace("_", " "))


def _unit_line(outcome: str, *, over: str) -> str:
    """The panel's second title line: the unit and whether it is a stock or a flow."""
    if _kind(outcome) == "flow":
        return f"flow: persons {over}"
    return "stock: persons on the last day" + (" of the month" if over == "in the month" else "")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _signed(value: float) -> str:
    text = persons(value)
    return text if text.startswith("-") or text in ("0", "n/a") else "+" + text


def _differences(comparison: Comparison, scenario: str) -> pd.DataFrame:
    """Per seed, ``scenario`` minus the reference (the seeds paired)."""
    ref = comparison.scenarios[0]
    base = pd.DataFrame(comparison.totals.xs(ref, level="scenario"))
    return pd.DataFrame(pd.DataFrame(comparison.totals.xs(scenario, level="scenario")) - base)


def _seeds(comparison: Comparison) -> list[int]:
    ref = comparison.scenarios[0]
    return [int(s) for s in comparison.totals.xs(ref, level="scenario").index]


def _what_was_compared(comparison: Comparison) -> str:
    about = comparison.about
    ref = comparison.scenarios[0]
    seeds = _seeds(comparison)
    files = {s["name"]: s for s in about.get("scenarios", [])}
    rows = "".join(
        f"<tr><td>{escape(name)}{' (reference)' if k == 0 else ''}</td>"
        f"<td>{escape(files.get(name, {}).get('description', ''))}</td>"
        f"<td><code>{escape(files.get(name, {}).get('file', ''))}</code></td></tr>"
        for k, name in enumerate(comparison.scenarios)
    )
    table = f"<table><tr><th>scenario</th><th>what it represents</th><th>file</th></tr>{rows}</table>"
    agents = about.get("agents")
    size = f" with about {agents:,} agents per run" if agents else ""
    seed_text = f"{seeds[0]} to {seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    others = comparison.scenarios[1:]
    sign = "; ".join(f"<b>{escape(o)} minus {escape(ref)}</b>" for o in others)
    return (
        table + f"<p>Each scenario was run {len(seeds)} times, with seeds {seed_text}{size}. The same "
        "seed gives the same people and the same random draws in every scenario (common random "
        "numbers), so the difference a policy makes is taken seed by seed. <b>Sign convention</b>: "
        f"a difference is the scenario minus the reference, {sign}: a positive difference means more "
        f"in the scenario than in {escape(ref)}, a negative one fewer. Intervals are the "
        f"{interval_label(len(seeds))} (the {'lowest and highest' if len(seeds) < 10 else '5% and 95%'} "
        "of the paired differences).</p>"
    )


def _what_differs(comparison: Comparison) -> str:
    diffs = comparison.about.get("differences", {})
    ref = comparison.scenarios[0]
    parts = []
    for name in comparison.scenarios[1:]:
        rows = diffs.get(name)
        if rows is None:
            parts.append(f"<p>{escape(name)}: not recorded in this folder (it has no compare.json).</p>")
            continue
        if not rows:
            parts.append(f"<p>{escape(name)}: no field or event differs from {escape(ref)}.</p>")
            continue
        body = "".join(
            f"<tr><td>{escape(str(what))}</td><td>{escape(str(a))}</td><td>{escape(str(b))}</td></tr>"
            for what, a, b in rows
        )
        parts.append(
            f"<p><b>{escape(name)}</b> differs from {escape(ref)} in:</p><table><tr><th>field or event</th>"
            f"<th>{escape(ref)}</th><th>{escape(name)}</th></tr>{body}</table>"
        )
    return "".join(parts)


def _outcome_table(comparison: Comparison) -> str:
    """Per outcome: each scenario's median, and each difference with its interval."""
    ref = comparison.scenarios[0]
    n = len(_seeds(comparison))
    head = "".join(f"<th>{escape(s)}</th>" for s in comparison.scenarios)
    head += "".join(f"<th>{escape(s)} minus {escape(ref)}</th>" for s in comparison.scenarios[1:])
    rows = []
    for outcome in comparison.totals.columns:
        cells = [
            persons(float(np.median(comparison.totals.xs(s, level="scenario")[outcome])))
            for s in comparison.scenarios
        ]
        for s in comparison.scenarios[1:]:
            d = _differences(comparison, s)[outcome].to_numpy(dtype=np.float64)
            lo, hi = bounds(d) if n > 1 else (d[0], d[0])
            if lo == hi:  # one seed, or the same difference with every seed
                cells.append(f"<b>{_signed(float(lo))}</b>" + (" (every seed)" if n > 1 else ""))
            else:
                cells.append(
                    f"<b>{_signed(float(np.median(d)))}</b> ({_signed(float(lo))} to {_signed(float(hi))})"
                )
        unit = _unit_line(outcome, over="over the horizon")
        label = f"{escape(_label(outcome))}<br><span class='note'>{unit}</span>"
        rows.append(f"<tr><td>{label}</td>" + "".join(f"<td class='n'>{c}</td>" for c in cells) + "</tr>")
    note = (
        f"<p class='note'>Medians over the {n} seeds; a difference's interval is the {interval_label(n)}.</p>"
        if n > 1
        else ""
    )
    return f"<table><tr><th>outcome</th>{head}</tr>{''.join(rows)}</table>{note}"


def _policy_dates(comparison: Comparison) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Events that differ between the scenarios (labelled), and the others (faint)."""
    scenarios = comparison.about.get("scenarios", [])
    all_events = [{(e["date"], e["name"]) for e in s.get("events", [])} for s in scenarios]
    if not all_events:
        return [], []
    common = set.intersection(*all_events)
    every = set.union(*all_events)
    return sorted(every - common), sorted(common)


def _mark_dates(fig: Any, comparison: Comparison, n_panels: int) -> None:
    """Vertical lines on every panel: dashed for events that differ, faint dots otherwise."""
    differ, common = _policy_dates(comparison)
    for dates, line in (
        ({d for d, _ in common}, {"color": colour(7), "width": 0.6, "dash": "dot"}),
        ({d for d, _ in differ}, {"color": OUTLINE, "width": 1.2, "dash": "dash"}),
    ):
        for date in sorted(dates):
            for i in range(n_panels):
                fig.add_vline(x=date, line=line, row=i // _COLS + 1, col=i % _COLS + 1)


def _dates_text(comparison: Comparison) -> str:
    """The policy dates the monthly panels mark, in words."""
    differ, common = _policy_dates(comparison)
    if not differ and not common:
        return ""
    listed = "".join(f"<li>{escape(d)}: {escape(n)}</li>" for d, n in differ)
    text = (
        "<p>Dashed lines on the monthly panels mark the events that differ between the scenarios:</p>"
        f"<ul>{listed}</ul>"
        if differ
        else "<p>No dated event differs between the scenarios.</p>"
    )
    if common:
        text += f"<p class='note'>Dotted lines: the {len(common)} policy events all the scenarios share.</p>"
    return text


def _zero_axes(fig: Any, flat: list[bool]) -> None:
    """Panels whose values are all zero get a single 0 tick (not 500m, -500m ...)."""
    for i, is_flat in enumerate(flat):
        if is_flat:
            fig.update_yaxes(range=[-1, 1], tickvals=[0], row=i // _COLS + 1, col=i % _COLS + 1)


#: Legends under the figure's title line would collide with the panels' titles: put them below.
_LEGEND_BELOW = {"orientation": "h", "x": 0, "y": 0, "yanchor": "bottom", "yref": "container"}


def _difference_panels(comparison: Comparison) -> Any:
    """One panel per outcome, on its own scale: each scenario's difference from the reference."""
    from plotly.subplots import make_subplots

    outcomes = list(comparison.totals.columns)
    ref = comparison.scenarios[0]
    rows = math.ceil(len(outcomes) / _COLS)
    titles = [
        f"{_label(o)}<br><span style='font-size:10px'>{_unit_line(o, over='over the horizon')}</span>"
        for o in outcomes
    ]
    fig = make_subplots(rows=rows, cols=_COLS, subplot_titles=titles, vertical_spacing=0.4 / rows)
    for k, sc in enumerate(comparison.scenarios[1:], start=1):
        diff = _differences(comparison, sc)
        for i, outcome in enumerate(outcomes):
            d = diff[outcome].to_numpy(dtype=np.float64)
            # Scalars for any number of seeds; with one seed both ends are its value: no whisker.
            lo, hi = bounds(d)
            mid = float(np.median(d))
            fig.add_bar(
                x=[sc],
                y=[mid],
                marker_color=colour(k),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [float(hi) - mid],
                    "arrayminus": [mid - float(lo)],
                },
                name=f"{sc} minus {ref}",
                legendgroup=sc,
                showlegend=i == 0,
                hovertemplate=f"{escape(_label(outcome))}: %{{y:+,.0f}}<extra>{escape(sc)}</extra>",
                row=i // _COLS + 1,
                col=i % _COLS + 1,
            )
            fig.add_hline(y=0, line={"color": OUTLINE, "width": 0.8}, row=i // _COLS + 1, col=i % _COLS + 1)
    fig.update_yaxes(tickformat="~s")
    _zero_axes(fig, [bool((comparison.totals[o] == comparison.totals[o].iloc[0]).all()) for o in outcomes])
    fig.update_xaxes(showticklabels=False)
    n = len(_seeds(comparison))
    fig.update_layout(
        height=230 * rows + 120,
        title=f"Difference from {ref} over the horizon (median over seeds; whiskers: {interval_label(n)})",
        legend=_LEGEND_BELOW,
        margin={"t": 120, "b": 80},
    )
    return fig


def _monthly_panels(comparison: Comparison) -> Any:
    """One panel per outcome, by month: each scenario's median and interval over seeds."""
    from plotly.subplots import make_subplots

    outcomes = list(comparison.totals.columns)
    rows = math.ceil(len(outcomes) / _COLS)
    titles = [
        f"{_label(o)}<br><span style='font-size:10px'>{_unit_line(o, over='in the month')}</span>"
        for o in outcomes
    ]
    fig = make_subplots(rows=rows, cols=_COLS, subplot_titles=titles, vertical_spacing=0.4 / rows)
    n = len(_seeds(comparison))
    for k, sc in enumerate(comparison.scenarios):
        m = comparison.monthly.xs(sc, level="scenario")
        months = sorted(set(m.index.get_level_values("month")))
        x = [pd.Period(p, freq="M").to_timestamp() for p in months]
        for i, outcome in enumerate(outcomes):
            r, c = i // _COLS + 1, i % _COLS + 1
            table = m[outcome].unstack("month").reindex(columns=months).to_numpy(dtype=np.float64)
            if n > 1:
                lo, hi = bounds(table)
                add_band(fig, x, lo, hi, colour=colour(k), group=sc, opacity=0.25, row=r, col=c)
            fig.add_scatter(
                x=x,
                y=np.median(table, axis=0),
                mode="lines",
                name=sc,
                line={"color": colour(k)},
                showlegend=i == 0,
                legendgroup=sc,
                hovertemplate=f"{escape(sc)} %{{x|%b %Y}}: %{{y:,.0f}}<extra></extra>",
                row=r,
                col=c,
            )
    _mark_dates(fig, comparison, len(outcomes))
    fig.update_yaxes(tickformat="~s", rangemode="tozero")
    _zero_axes(fig, [bool((comparison.monthly[o] == 0).all()) for o in outcomes])
    fig.update_xaxes(tickformat="%b %Y")
    fig.update_layout(
        height=240 * rows + 160,
        title=f"By month (median over seeds; band: {interval_label(n)}; dashed: policy dates that differ)",
        legend=_LEGEND_BELOW,
        margin={"t": 120, "b": 80},
    )
    return fig


def _maps(comparison: Comparison) -> Section | None:
    """One map per scenario (the median over seeds), when the comparison kept figures by place."""
    by_place = comparison.by_place
    if by_place is None or by_place.empty:
        return None
    shown = by_place[by_place["metric"].isin(list(MAP_METRICS))]
    shared = {str(m): float(v) for m, v in shown.groupby("metric")["value"].max().items()}
    figures = []
    for name in comparison.scenarios:
        frame = by_place[(by_place["scenario"] == name) & by_place["metric"].isin(list(MAP_METRICS))]
        if frame.empty:
            continue
        first = (
            "stranded"
            if frame.loc[frame["metric"] == "stranded", "value"].sum() > 0
            else str(frame["metric"].iloc[0])
        )
        figures.append(
            corridor_map_figure(
                frame.drop(columns="scenario"), first, label=name, height=760, scale_max=shared
            )
        )
    text = (
        "<p>One map per scenario, each the median over the seeds; each opens on its own peak month. "
        "Each circle is a place, its area and colour proportional to the figure chosen in the menu "
        "above the map; the slider under it changes the month. All the maps share one scale per "
        "figure, so the same circle means the same number of people in every scenario.</p>"
    )
    return Section(heading="Where people were, scenario by scenario", text=text, figures=figures)


def _headline(comparison: Comparison) -> str:
    """The largest changes in sentences (relative to the reference's median)."""
    ref = comparison.scenarios[0]
    base = pd.DataFrame(comparison.totals.xs(ref, level="scenario")).median()
    items = []
    for sc in comparison.scenarios[1:]:
        diff = _differences(comparison, sc).median()
        share = (diff / base.where(base > 0)).abs().dropna().sort_values(ascending=False)
        top = [o for o in share.index if abs(diff[o]) >= 1][:4]
        if not top:
            items.append(f"<li><b>{escape(sc)}</b>: no outcome changes by a person or more.</li>")
            continue
        said = "; ".join(
            f"{escape(_lower_first(_label(o)))} {_signed(float(diff[o]))} "
            f"({diff[o] / base[o]:+.0%} of {persons(float(base[o]))})"
            for o in top
        )
        items.append(f"<li><b>{escape(sc)} minus {escape(ref)}</b>, the largest changes: {said}.</li>")
    return "<ul>" + "".join(items) + "</ul>"


def comparison_page(comparison: Comparison) -> str:
    """The comparison page's HTML: what was compared, what differs, the outcomes by panel."""
    sections = [
        Section(heading="In short", text=_headline(comparison)),
        Section(heading="What was compared", text=_what_was_compared(comparison)),
        Section(heading="What differs from the reference", text=_what_differs(comparison)),
        Section(heading="Outcomes over the whole horizon", text=_outcome_table(comparison)),
        Section(heading="Each outcome on its own scale", figures=[_difference_panels(comparison)]),
        Section(heading="By month", text=_dates_text(comparison), figures=[_monthly_panels(comparison)]),
    ]
    maps = _maps(comparison)
    if maps is not None:
        sections.append(maps)
    heading = "Comparing " + " and ".join(comparison.scenarios)
    return page("corridor compare", sections, heading=heading)


def comparison_html(comparison: Comparison, path: str | Path) -> Path:
    """Write :func:`comparison_page` to ``path`` atomically; return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(target, comparison_page(comparison))
    return target


def comparison_report_html(folder: Path) -> str:
    """The comparison page rebuilt from a ``corridor compare`` folder (for ``corridor report``)."""
    from corridor.report.comparison import Comparison

    monthly_path = folder / "compare_monthly.csv"
    if not monthly_path.is_file():
        raise InputError(
            f"{folder}: holds no compare_monthly.csv; expected a folder written by corridor compare"
        )
    try:
        monthly = pd.read_csv(monthly_path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{monthly_path}: not readable ({exc})") from None
    missing = {"scenario", "seed", "month"} - set(monthly.columns)
    if missing:
        raise InputError(f"{monthly_path}: missing column(s) {', '.join(sorted(missing))}")
    monthly["month"] = pd.PeriodIndex(monthly["month"].astype(str), freq="M")
    about: dict[str, Any] = {}
    if (folder / "compare.json").is_file():
        try:
            about = json.loads((folder / "compare.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{folder / 'compare.json'}: not readable as JSON ({exc})") from None
    by_place = None
    if (folder / "compare_places.csv").is_file():
        try:
            by_place = pd.read_csv(folder / "compare_places.csv", parse_dates=["month"])
        except (OSError, ValueError) as exc:
            raise InputError(f"{folder / 'compare_places.csv'}: not readable ({exc})") from None
    return comparison_page(Comparison.from_monthly(monthly, about, by_place))
