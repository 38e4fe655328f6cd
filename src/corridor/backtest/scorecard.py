"""The backtest's scorecard: one self-contained HTML page (``scorecard.html``).

Scores by horizon first (the answer to "how far can I trust a forecast h months ahead?"),
then by series, by origin, and the forecasts drawn against what happened.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.backtest.combined import COMBINED
from corridor.backtest.origins import upstream_read_past_origins
from corridor.backtest.posteriors import PILOT_COLUMNS
from corridor.backtest.scores import summarise_scores
from corridor.backtest.simulated import ANCHORED
from corridor.report.html import OUTLINE, Section, add_band, colour, write_page

#: Series drawn against what happened, in order (series, breakdown), when present.
DRAWN: tuple[tuple[str, str], ...] = (
    ("usbp_sw_encounters", ""),
    ("usbp_sw_encounters", "citizenship=Guatemala"),
    ("usbp_sw_encounters", "citizenship=Honduras"),
    ("usbp_sw_encounters", "citizenship=El Salvador"),
    ("usbp_sw_encounters", "citizenship=Venezuela"),
    ("mx_irregular_events", ""),
    ("mx_returns", ""),
)
_HEADERS = {
    "method": "method",
    "horizon": "months ahead",
    "n": "forecasts scored",
    "median_abs_log_error": "median |log error|",
    "coverage": "inside 90% interval",
    "mean_crps_log": "CRPS (log scale)",
    "skill": "skill vs persistence",
    "series": "series",
}


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    shown = frame[columns].rename(columns=_HEADERS)
    return shown.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, classes="scores")


def _line_figure(summary: pd.DataFrame, value: str, title: str, unit: str) -> object:
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (method, rows) in enumerate(summary.groupby("method", sort=False)):
        fig.add_scatter(
            x=rows["horizon"],
            y=rows[value],
            mode="lines+markers",
            name=str(method),
            line={"color": colour(k)},
        )
    fig.update_layout(
        title=title,
        xaxis_title="months ahead (1 = the origin month)",
        yaxis_title=unit,
        height=360,
        margin={"t": 50},
    )
    fig.update_xaxes(dtick=1)
    return fig


def _add_what_happened(fig: Any, rows: pd.DataFrame, size: int) -> None:
    """The observed months of ``rows`` (one per month, whatever the methods) as open circles."""
    truth = rows.dropna(subset=["observed"]).drop_duplicates("period_start").sort_values("period_start")
    fig.add_scatter(
        x=truth["period_start"],
        y=truth["observed"],
        mode="markers",
        name="what happened",
        marker={"symbol": "circle-open", "color": OUTLINE, "size": size, "line": {"width": 2}},
    )


def _drawn(scores: pd.DataFrame, series: str, breakdown: str, method: str = "corridor") -> object | None:
    import plotly.graph_objects as go

    rows = scores[(scores["series"] == series) & (scores["breakdown"] == breakdown)]
    mine = rows[rows["method"] == method]
    if mine.empty:
        return None
    fig = go.Figure()
    for k, (origin, fc) in enumerate(mine.sort_values("period_start").groupby("origin")):
        group = f"o{origin}"
        add_band(
            fig,
            fc["period_start"],
            fc["q05"],
            fc["q95"],
            colour=colour(0),
            group=group,
            opacity=0.25,
            hover=False,
        )
        fig.add_scatter(
            x=fc["period_start"],
            y=fc["median"],
            mode="lines",
            line={"color": colour(0)},
            name=f"{method} (median, 90% band)" if k == 0 else str(origin),
            legendgroup=group,
            showlegend=k == 0,
        )
    _add_what_happened(fig, rows, size=8)
    label = f"{series} {breakdown or '(total)'}"
    fig.update_layout(
        title=f"{label}: each origin's {method} forecast, months 1-{int(mine['horizon'].max())}",
        yaxis_title="per month (events)",
        height=380,
        margin={"t": 50},
    )
    fig.update_xaxes(tickformat="%b %Y")
    return fig


#: Methods :func:`origin_figure` draws, in order (when present).
ORIGIN_METHODS: tuple[str, ...] = ("corridor", ANCHORED, COMBINED, "persistence")


def origin_figure(
    scores: pd.DataFrame,
    origin: str | pd.Period,
    series: str,
    breakdown: str,
    history: pd.Series | None = None,
    methods: tuple[str, ...] = ORIGIN_METHODS,
) -> object | None:
    """One origin's forecasts of one target, method by method, against what happened.

    Parameters
    ----------
    scores : DataFrame
        A backtest's scores (``scores.parquet``).
    origin : str or Period
        The origin month (``YYYY-MM``).
    series, breakdown : str
        The target (``breakdown`` "" for the total).
    history : Series, optional
        Observed values by month (``Period``) before the origin, drawn as what was known.
    methods : tuple of str
        The methods drawn (median line and 90% band each), when the scores hold them.

    Returns
    -------
    plotly Figure, or None when the scores hold no forecast of that target at that origin.
    """
    import plotly.graph_objects as go

    origin = str(origin)  # a Period prints as YYYY-MM, as the scores hold it
    rows = scores[
        (scores["origin"] == origin) & (scores["series"] == series) & (scores["breakdown"] == breakdown)
    ]
    if rows.empty:
        return None
    fig = go.Figure()
    for k, method in enumerate(methods):  # a method keeps its colour from figure to figure
        fc = rows[rows["method"] == method].sort_values("period_start")
        if fc.empty:
            continue
        add_band(fig, fc["period_start"], fc["q05"], fc["q95"], colour=colour(k), group=method, opacity=0.18)
        fig.add_scatter(
            x=fc["period_start"],
            y=fc["median"],
            mode="lines+markers",
            line={"color": colour(k)},
            name=f"{method} (median, 90% band)",
            legendgroup=method,
        )
    if history is not None and len(history):
        fig.add_scatter(
            x=pd.PeriodIndex(history.index).to_timestamp(),
            y=history.to_numpy(),
            mode="lines+markers",
            name="known at the origin",
            line={"color": OUTLINE, "dash": "dot"},
            marker={"color": OUTLINE, "size": 6},
        )
    _add_what_happened(fig, rows, size=10)
    title = f"{series} {breakdown or '(total)'}, forecast at origin {origin}"
    combined = rows[(rows["method"] == COMBINED) & rows["observed"].notna()]
    if len(combined):
        title += f": {int(combined['inside'].sum())} of {len(combined)} months inside {COMBINED}'s band"
    fig.update_layout(
        title=title,
        yaxis_title="per month",
        height=420,
        margin={"t": 50},
    )
    fig.update_xaxes(tickformat="%b %Y")
    return fig


def _parameters_figure(parameters: pd.DataFrame) -> object | None:
    """Each prior parameter's kept draws by origin (dot: median; bar: their interval), over the
    prior draws' interval (shaded): where the bar fills the shade, the data before that origin
    did not inform it."""
    from plotly.subplots import make_subplots

    drawn = parameters[parameters["fitted_by"] != "pilot"]
    names = list(dict.fromkeys(drawn["parameter"]))
    if not names:
        return None
    cols = 3
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, vertical_spacing=0.35 / rows)
    for k, name in enumerate(names):
        row, col = k // cols + 1, k % cols + 1
        one = drawn[drawn["parameter"] == name]
        prior = one.iloc[0]
        fig.add_hrect(
            y0=prior["prior_low"],
            y1=prior["prior_high"],
            row=row,
            col=col,
            fillcolor=colour(1),
            opacity=0.2,
            line_width=0,
        )
        fig.add_scatter(
            x=one["origin"],
            y=one["median"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": one["high"] - one["median"],
                "arrayminus": one["median"] - one["low"],
            },
            mode="markers",
            marker={"color": colour(0), "size": 5},
            showlegend=False,
            name=name,
            row=row,
            col=col,
        )
    fig.update_annotations(font_size=11)
    fig.update_layout(height=230 * rows, margin={"t": 40})
    return fig


def _pilot_tables(parameters: pd.DataFrame) -> list[str]:
    """The pilots' values, origin by origin: one table per pilot column (a column per
    nationality where it fits one value each)."""
    pilot = parameters[parameters["fitted_by"] == "pilot"]
    tables = []
    for column in PILOT_COLUMNS:
        mine = pilot[pilot["parameter"].str.split(".").str[0] == column]
        if mine.empty:
            continue
        wide = mine.assign(parameter=mine["parameter"].str.removeprefix(f"{column}.")).pivot(
            index="origin", columns="parameter", values="median"
        )
        wide.columns.name = None
        tables.append(
            f"<p><code>{escape(column)}</code></p>"
            + wide.reset_index().to_html(index=False, float_format=lambda v: f"{v:.2f}", border=0, na_rep="")
        )
    return tables


def _parameters_section(parameters: pd.DataFrame) -> Section:
    drawn = parameters[parameters["fitted_by"] != "pilot"]
    labels = ("interval", "prior_interval")
    kept, prior = (escape(str(drawn[c].iloc[0])) if len(drawn) else "" for c in labels)
    return Section(
        "What the fit gave the parameters",
        f"<p>At each origin, the kept prior draws as they ran (dot: median; bar: {kept}; shaded: the "
        f"prior draws' {prior}; where a pilot replaced or scaled a drawn value, the value run), then the "
        "values the pilots fitted (a value the fit months held no count for is left out): each "
        "nationality's demand scale (times the scenario's level) and "
        "interdiction factor, the ratio applied to the daily chance to file for asylum, and the "
        "legal pathways' uptake (where an opening lies in the fit months). Also in "
        "<code>parameters.csv</code>.</p>",
        _pilot_tables(parameters),
        [f for f in (_parameters_figure(parameters),) if f is not None],
    )


def _inputs_read(info: dict[str, Any]) -> str:
    """What the scenario's inputs read, in words: cut at each origin, unless the scenario
    reads its upstream inflows past the origins."""
    known = upstream_read_past_origins(info)
    if known is None:
        return "the scenario's inputs too"
    return (
        f"the scenario's inputs too, <strong>except its upstream inflows (Darien crossings, Honduras' "
        f"entries), read for periods ending before {escape(known)}, months forecast included: a "
        "diagnostic of the model given the demand it cannot forecast, not a forecast</strong>"
    )


def write_scorecard(
    scores: pd.DataFrame,
    summary: pd.DataFrame,
    info: dict[str, Any],
    path: str | Path,
    parameters: pd.DataFrame | None = None,
) -> Path:
    """Write the scorecard of a backtest (its scores, summary and options, and the fitted
    ``parameters`` of :func:`~corridor.backtest.posteriors.fitted_parameters`) to ``path``
    (atomically)."""
    columns = ["method", "horizon", "n", "median_abs_log_error", "coverage", "mean_crps_log", "skill"]
    by_series = summarise_scores(scores, ("method", "series"), row_keys=("origin", "horizon", "breakdown"))
    pivot = by_series.pivot(index="series", columns="method", values="median_abs_log_error")
    per_origin = summarise_scores(scores, ("method", "origin"), row_keys=("horizon", "series", "breakdown"))
    worst = (
        scores[scores["method"] == "corridor"]
        .groupby(["series", "breakdown"])["abs_log_error"]
        .median()
        .sort_values(ascending=False)
        .head(10)
        .reset_index()
    )
    intro = (
        f"Scenario <code>{escape(Path(str(info['scenario'])).name)}</code>, forecast from "
        f"{len(info['origins'])} origins ({escape(info['origins'][0])} to {escape(info['origins'][-1])}), "
        f"{info['horizons']} months ahead each. At every origin, corridor and the baselines read only the "
        f"observations whose period ends before it ({_inputs_read(info)}); what happened is read only "
        f"to score. corridor: {info['draws']} prior draws simulated with {info['agents']:,} agents, the "
        f"{info['keep']} closest to the last {info['fit_months']} months kept. A log error of 0.1 is about "
        "10% off; skill is 1 - (median error / persistence's median error): above 0 beats persistence."
    )
    sections = [
        Section(
            "By horizon",
            "<p>All series and origins together.</p>",
            [_table(summary, columns)],
            [
                _line_figure(summary, "median_abs_log_error", "Median |log error| by horizon", "|log error|"),
                _line_figure(summary, "coverage", "Share inside the 90% interval (0.9 is right)", "share"),
            ],
        ),
        Section(
            "By series (median |log error|, all horizons)",
            "",
            [pivot.reset_index().to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)],
        ),
        Section(
            "corridor's worst series", "", [worst.to_html(index=False, float_format=lambda v: f"{v:.3f}")]
        ),
        Section(
            "By origin",
            "",
            [
                per_origin.pivot(index="origin", columns="method", values="median_abs_log_error")
                .reset_index()
                .to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)
            ],
        ),
        Section(
            "Forecasts against what happened",
            "<p>Each origin's corridor forecast (line: median; band: 90% interval) and the observed months "
            "(circles).</p>",
            (),
            [f for f in (_drawn(scores, s, b) for s, b in DRAWN) if f is not None],
        ),
        Section(
            "The same, started from the last month observed (corridor_anchored)",
            "<p>The same runs times observed / simulated of the month before each origin "
            "(docs/backtest.md).</p>",
            (),
            [f for f in (_drawn(scores, s, b, ANCHORED) for s, b in DRAWN) if f is not None],
        ),
        Section(
            "Anchored and persistence, weighted by the record (corridor_combined)",
            "<p>The anchored forecast and persistence combined with the weight the earlier origins' "
            "forecasts earned (docs/backtest.md).</p>",
            (),
            [f for f in (_drawn(scores, s, b, COMBINED) for s, b in DRAWN) if f is not None],
        ),
    ]
    if parameters is not None and not parameters.empty:
        sections.append(_parameters_section(parameters))
    return write_page(
        path, "corridor backtest scorecard", sections, heading="Backtest scorecard", intro=intro
    )
