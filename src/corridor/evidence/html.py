"""The validation page: observed values beside the simulated medians and intervals, per series."""

from __future__ import annotations

import math
from html import escape
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
    change = bool((rows["statistic"] == "change").all())
    fig.update_layout(
        title=(
            f"{series} (compared with {rows['metric'].iloc[0]}): {_factor(err)}; "
            f"{_share(inside, '.0%')} of {len(rows)} inside the simulated 90% interval"
        ),
        xaxis_title="end of the observed period",
        yaxis_title="relative change"
        if change
        else str(rows["unit"].iloc[0])
        if "unit" in rows
        else "persons",
        height=max(460, 40 + 22 * 2 * labels.nunique()),  # room for the legend's entries
    )
    # Dates only (never a time of day), and at least three months shown: one or two dates
    # close together would otherwise be zoomed to hours and labelled "23:59:59.9995".
    ends = pd.to_datetime(rows["period_end"])
    lo, hi = ends.min(), ends.max()
    if (hi - lo) < pd.Timedelta(days=90):
        mid = lo + (hi - lo) / 2
        lo, hi = mid - pd.Timedelta(days=45), mid + pd.Timedelta(days=45)
    monthly_ticks = {"dtick": "M1"} if (hi - lo) <= pd.Timedelta(days=200) else {}
    fig.update_xaxes(
        range=[lo - pd.Timedelta(days=10), hi + pd.Timedelta(days=10)], tickformat="%b %Y", **monthly_ticks
    )
    return fig


def _factor(error: float | None) -> str:
    """A median absolute log error in words: off by a factor of exp(error)."""
    if error is None or not math.isfinite(error):
        return "no error defined"
    return f"typically off by a factor of {math.exp(error):.1f}"


def _importance(table: pd.DataFrame) -> list[str]:
    """Series, the biggest first: by the largest observed count; relative changes last."""
    counts = table[table["statistic"] != "change"]
    size = counts.groupby("series")["observed"].apply(lambda v: float(v.abs().max()))
    rest = sorted(set(table["series"]) - set(size.index))
    return [str(s) for s in size.sort_values(ascending=False).index] + rest


def _per_series_table(result: ValidationResult, order: list[str]) -> str:
    per = result.per_series()
    table = result.table
    rows = []
    for series in order:
        part = table[table["series"] == series]
        score = per.loc[series] if series in per.index else pd.Series(dtype=float)
        err = score.get("median_abs_log_error")
        err = None if err is None or pd.isna(err) else float(err)
        inside = score.get("share_inside_90")
        inside = None if inside is None or pd.isna(inside) else float(inside)
        change = bool((part["statistic"] == "change").all())
        biggest = "" if change else f"{part['observed'].abs().max():,.0f}"
        rows.append(
            f"<tr><td><a href='#{escape(series)}'>{escape(series)}</a></td>"
            f"<td>{escape(', '.join(sorted(set(part['metric'].astype(str)))))}</td>"
            f"<td class='n'>{len(part)}</td><td class='n'>{biggest}</td>"
            f"<td class='n'>{'' if err is None else f'{math.exp(err):.1f}'}</td>"
            f"<td class='n'>{_share(err, '.2f')}</td><td class='n'>{_share(inside, '.0%')}</td></tr>"
        )
    head = (
        "<tr><th>observed series</th><th>compared with</th>"
        "<th class='n'>values</th><th class='n'>largest observed</th>"
        "<th class='n'>off by a factor of (typical)</th><th class='n'>median |log ratio|</th>"
        "<th class='n'>inside the 90% interval</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _validation_intro(summary: dict[str, Any]) -> str:
    overall = summary["overall"]
    err = overall["median_abs_log_error"]
    seeds, agents = summary.get("seeds"), summary.get("agents")
    runs = f"{summary['runs']} runs"
    if isinstance(seeds, list) and seeds:
        runs += f" (seeds {seeds[0]} to {seeds[-1]}" + (
            f", about {agents:,} agents each)" if isinstance(agents, int) else ")"
        )
    return (
        f"<p>Scenario <b>{escape(str(summary.get('scenario', '')))}</b>, {summary['horizon'][0]} to "
        f"{summary['horizon'][1]}: {runs} compared with <b>{overall['observations']}</b> observed values. "
        f"The simulated median is {_factor(err)} (median |log(simulated / observed)| "
        f"{_share(err, '.2f')}; 0 is a perfect match, 0.69 a factor of 2), and "
        f"<b>{_share(overall['share_inside_90'], '.0%')}</b> of the observed values lie inside the "
        "simulated 90% interval. "
        f"{summary['skipped_rows']} observed rows were not compared (reasons at the end of the page); "
        f"{summary['held_out_rows']} held-out rows (periods ending on or after {summary['held_out_from']}) "
        "were not read.</p><p class='note'>The series are listed biggest first (by their largest "
        "observed value); relative changes come last. In each chart a line and band are the "
        "simulated median and 90% interval, diamonds the observed values.</p>"
    )


def validation_html(result: ValidationResult, path: str | Path) -> Path:
    """Write a self-contained HTML page: a summary, the scores per series (the biggest series
    first), then per series the observed values beside the simulated median and 90% band,
    then the skipped rows by reason."""
    summary = result.summary()
    order = _importance(result.table) if len(result.table) else []
    by_series = dict(tuple(result.table.groupby("series", sort=False))) if len(result.table) else {}
    charts = [
        Section(
            text=f"<a id='{escape(s)}'></a>",
            figures=[_series_figure(s, by_series[s], summary["per_series"].get(s, {}))],
        )
        for s in order
    ]
    skipped = result.skipped
    by_reason = ""
    if len(skipped):
        counts = skipped.groupby("reason").size().sort_values(ascending=False)
        body = "".join(
            f"<tr><td>{escape(str(r))}</td><td class='n'>{n:,}</td></tr>" for r, n in counts.items()
        )
        by_reason = (
            f"<table><tr><th>why the rows were not compared</th><th class='n'>rows</th></tr>{body}</table>"
        )
    sections = [
        Section("Summary", text=_validation_intro(summary)),
        Section("Per series", tables=[_per_series_table(result, order)]),
        Section("Observed against simulated"),
        *charts,
        Section("Observed rows not compared", tables=[by_reason]),
    ]
    heading = f"How well {summary.get('scenario', 'the scenario')} matches the observations"
    return write_page(path, "corridor validation", sections, heading=heading)


def _html(result: ValidationResult, path: Path) -> Path:
    """Write ``validation.html`` (see :func:`validation_html`)."""
    return validation_html(result, path)
