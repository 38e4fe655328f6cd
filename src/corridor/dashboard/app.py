"""The dashboard's page and callbacks (Dash). Imported only by :func:`corridor.dashboard.serve`."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from corridor.dashboard.cache import RunCache, ScenarioCache
from corridor.dashboard.figures import difference_figure, headline_rows, monthly_figure, most_changed_metric
from corridor.dashboard.levers import LEVERS, apply_levers, default_levers, lever_changes, scenario_yaml
from corridor.errors import CorridorError, ScenarioError
from corridor.report.maps import MAP_METRICS, corridor_map_figure

log = logging.getLogger("corridor.dashboard")

#: The metric the map shows first while no lever changes anything (the others are in its
#: dropdown); with levers moved, it opens on the one they changed most.
MAP_FIRST = "stranded"

#: The page's style sheet, in :data:`ASSETS` (Dash serves that folder and links its CSS files):
#: the layout below names its classes, the ``corridor-`` ones, and sets no inline style.
ASSETS = Path(__file__).resolve().parent / "assets"


def _whole(value: Any, what: str) -> int:
    """A whole number from an input box (which may give 3000.0 or None), or a ScenarioError."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and math.isfinite(value) and value == round(value):
        return round(value)
    raise ScenarioError([(f"options.{what}", None, f"{what} must be a whole number (got {value!r})")])


def _lever_inputs() -> list[Any]:
    rows: list[Any] = []
    for lever in LEVERS:
        rows.append(
            html.Div(
                [
                    html.Label(lever.label, htmlFor=f"lever-{lever.key}", className="corridor-label"),
                    html.Div(
                        [
                            dcc.Input(
                                id=f"lever-{lever.key}",
                                type="number",
                                step=lever.step,
                                debounce=False,
                                className="corridor-lever-input",
                            ),
                            html.Span(
                                [
                                    f"{lever.unit}; ",
                                    html.Span(
                                        f"{lever.low:,g} to {lever.high:,g}", className="corridor-nowrap"
                                    ),
                                ],
                                className="corridor-lever-range",
                            ),
                        ]
                    ),
                    html.Div(lever.help, id=f"help-{lever.key}", className="corridor-help"),
                ],
                className="corridor-lever",
            )
        )
    return rows


def _controls(scenarios: Sequence[Path], agents: int, seed: int) -> html.Div:
    """The left column: scenario, run options, levers and buttons."""
    options = [{"label": p.stem, "value": str(p)} for p in scenarios]
    return html.Div(
        [
            html.Label("Scenario", htmlFor="scenario", className="corridor-label"),
            dcc.Dropdown(id="scenario", options=options, value=str(scenarios[0]), clearable=False),
            html.Div(
                [
                    html.Label("Agents", htmlFor="agents", className="corridor-label"),
                    dcc.Input(
                        id="agents", type="number", value=agents, step=1000, className="corridor-agents-input"
                    ),
                    html.Label("Seed", htmlFor="seed", className="corridor-label corridor-label-spaced"),
                    dcc.Input(id="seed", type="number", value=seed, step=1, className="corridor-seed-input"),
                ],
                className="corridor-options",
            ),
            html.H3("Policy levers", className="corridor-levers-heading"),
            *_lever_inputs(),
            html.Div(
                [
                    html.Button(
                        "Run", id="run", n_clicks=0, className="corridor-run-button corridor-button-gap"
                    ),
                    html.Button("Reset levers", id="reset", n_clicks=0, className="corridor-button-gap"),
                    html.Button("Download scenario (YAML)", id="download-button", n_clicks=0),
                    dcc.Download(id="download"),
                ],
                className="corridor-buttons",
            ),
            html.P(
                "Both runs use the same seed and agents. One run each is noisy: at 20,000 agents, "
                "differences under about 5% of a total (30% for deaths) may be chance. Check a "
                "finding with corridor compare over several seeds.",
                className="corridor-note",
            ),
        ],
        className="corridor-panel corridor-controls",
    )


def _layout(scenarios: Sequence[Path], agents: int, seed: int) -> html.Div:
    controls = _controls(scenarios, agents, seed)
    # While a run is on: a line at the top of the results says so (a spinner in the middle
    # of the long results would be off screen), and the results below fade.
    running = dcc.Loading(
        id="running",
        delay_show=150,
        custom_spinner=html.Div(
            [
                html.Span(className="corridor-spinner"),
                "Simulating the scenario with and without your levers: a few seconds...",
            ],
            id="running-note",
            className="corridor-panel corridor-running",
        ),
        children=html.Div(id="status"),
    )
    results = dcc.Loading(
        id="loading",
        delay_show=150,
        custom_spinner=html.Span(),
        overlay_style={"visibility": "visible", "opacity": 0.4},
        children=html.Div(
            [
                html.H3("Over the horizon", className="corridor-heading-totals"),
                html.Div(id="headline"),
                html.H3("Map of the corridor with your levers", className="corridor-heading-map"),
                html.P(id="map-note", className="corridor-note"),
                dcc.Graph(id="map", config={"displaylogo": False}),
                html.H3(
                    "Month by month: your levers against the unchanged scenario",
                    className="corridor-heading-chart",
                ),
                html.P(
                    "Shaded: the spin-up months, while the model fills up from empty.",
                    className="corridor-note",
                ),
                dcc.Graph(id="monthly", config={"displaylogo": False}),
                html.H3(
                    "Difference: your levers minus the unchanged scenario", className="corridor-heading-chart"
                ),
                html.P(
                    "Orange: more people than in the unchanged scenario; purple: fewer.",
                    className="corridor-note",
                ),
                dcc.Graph(id="difference", config={"displaylogo": False}),
            ]
        ),
    )
    return html.Div(
        [
            html.H1("corridor dashboard", className="corridor-title"),
            html.P(
                "Pick a scenario, move its policy levers and press Run: the scenario is simulated with "
                "your levers and without them, and the page shows both.",
                className="corridor-intro",
            ),
            html.Div(
                [controls, html.Div([running, results], className="corridor-results")],
                className="corridor-columns",
            ),
        ],
        className="corridor-page",
    )


def _headline_table(rows: pd.DataFrame) -> html.Table:
    """The totals of both runs; a difference's class says its sign (the style sheet colours it)."""
    text = "corridor-text"
    head = html.Tr(
        [
            html.Th(h, className=text if i < 2 else None)
            for i, h in enumerate(["outcome (persons)", "measure", "unchanged", "your levers", "difference"])
        ]
    )
    body = []
    for r in rows.to_dict("records"):
        d = float(r["difference"])
        sign = " corridor-more" if d > 0.5 else " corridor-fewer" if d < -0.5 else ""
        body.append(
            html.Tr(
                [
                    html.Td(str(r["outcome"]), className=text),
                    html.Td(str(r["measure"]), className=f"{text} corridor-measure"),
                    html.Td(f"{r['unchanged']:,.0f}"),
                    html.Td(f"{r['edited']:,.0f}"),
                    html.Td(f"{d:+,.0f}" if abs(d) >= 0.5 else "0", className="corridor-difference" + sign),
                ]
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body)], id="headline-table", className="corridor-totals")


class Callbacks:
    """What the page's callbacks do, with the caches they share (one per app)."""

    def __init__(self) -> None:
        self.scenarios = ScenarioCache()
        self.runs = RunCache()

    def defaults(self, path: str, _reset: int) -> list[float | None]:
        """The lever values of the chosen scenario (on choosing it, and on "Reset levers")."""
        try:
            defaults = default_levers(self.scenarios.get(path))
        except CorridorError:
            return [None] * len(LEVERS)  # the run shows the scenario's error
        return [defaults[lever.key] for lever in LEVERS]

    def run(self, _clicks: int, path: str, agents: Any, seed: Any, *values: Any) -> tuple[Any, ...]:
        """Status, totals, map and charts of the runs with and without the levers.

        A run that fails shows its message in the status and leaves the figures as they
        were; the server goes on serving.
        """
        failed = (dash.no_update,) * 5
        try:
            scenario = self.scenarios.get(path)
            n_agents, n_seed = _whole(agents, "agents"), _whole(seed, "seed")
            # Before the first click the inputs may not hold the defaults yet: run those.
            levers = (
                default_levers(scenario)
                if all(v is None for v in values)
                else {lever.key: v for lever, v in zip(LEVERS, values, strict=True)}
            )
            base = self.runs.run(scenario, {}, seed=n_seed, agents=n_agents)
            edited = self.runs.run(scenario, levers, seed=n_seed, agents=n_agents)
        except CorridorError as exc:
            return (_status(str(exc), error=True), *failed)
        except Exception as exc:  # a bug: say so on the page, keep serving, log the traceback
            log.exception("dashboard run failed")
            message = f"internal error (a bug of corridor): {type(exc).__name__}: {exc}"
            return (_status(message, error=True), *failed)
        view = edited.view
        changed = lever_changes(scenario, levers)
        what = (
            ", ".join(f"{lever.label} {changed[lever.key]:g}" for lever in LEVERS if lever.key in changed)
            if changed
            else "no lever changed: both runs are the unchanged scenario"
        )
        info = view.info
        timing = (
            "From the cache."
            if edited.cached and base.cached
            else f"Ran in {edited.seconds + base.seconds:.1f} s."
        )
        message = (
            f"{scenario.name}, seed {info.get('seed')}, {info.get('agents', 0):,} agents "
            f"({info.get('scale_persons_per_agent', float('nan')):.3g} persons each). "
            f"Levers: {what}. {timing}"
        )
        shown = most_changed_metric(view, base.view, MAP_FIRST)
        label = MAP_METRICS[shown].label if shown in MAP_METRICS else shown
        note = (
            f"It opens on people {label}: the measure of the map your levers changed most. "
            if changed
            else ""
        ) + "Pick another measure in its menu, and a month with its slider."
        return (
            _status(message, error=False),
            _headline_table(headline_rows(view, base.view)),
            note,
            corridor_map_figure(view.by_place, shown, spin_up_months=view.spin_up_months),
            monthly_figure(view, base.view),
            difference_figure(view, base.view),
        )

    def download(self, _clicks: int, path: str, *values: Any) -> tuple[Any, Any]:
        """The edited scenario as a YAML file to download (or the error in the status)."""
        try:
            scenario = self.scenarios.get(path)
            edited = apply_levers(scenario, {lever.key: v for lever, v in zip(LEVERS, values, strict=True)})
        except CorridorError as exc:
            return dash.no_update, _status(str(exc), error=True)
        header = (
            f"{edited.name}: {Path(path).name} edited in corridor dashboard.\n"
            "Inflow files are absolute paths; run it with: corridor run <this file>"
        )
        # What dcc.send_string gives (a text file), written out: that helper is untyped.
        download = {
            "content": scenario_yaml(edited, header),
            "filename": f"{edited.name}.yaml",
            "type": "text/yaml",
            "base64": False,
        }
        return download, dash.no_update


def build_app(scenarios: Sequence[Path], *, agents: int = 20_000, seed: int = 1) -> dash.Dash:
    """The dashboard as a Dash app (not started).

    Parameters
    ----------
    scenarios : sequence of Path
        The scenario files offered, the first selected.
    agents, seed : int
        The run options the page starts with.
    """
    app = dash.Dash(
        __name__,
        title="corridor dashboard",
        assets_folder=str(ASSETS),  # the style sheet, wherever the app is started from
        serve_locally=True,  # the JS bundles come from the installed package: works offline
        update_title="",  # no "Updating..." in the tab title
    )
    app.layout = _layout(scenarios, agents, seed)
    calls = Callbacks()
    levers = [State(f"lever-{lever.key}", "value") for lever in LEVERS]
    app.callback(
        [Output(f"lever-{lever.key}", "value") for lever in LEVERS],
        Input("scenario", "value"),
        Input("reset", "n_clicks"),
    )(calls.defaults)
    app.callback(
        Output("status", "children"),
        Output("headline", "children"),
        Output("map-note", "children"),
        Output("map", "figure"),
        Output("monthly", "figure"),
        Output("difference", "figure"),
        Input("run", "n_clicks"),
        State("scenario", "value"),
        State("agents", "value"),
        State("seed", "value"),
        *levers,
    )(calls.run)
    app.callback(
        Output("download", "data"),
        Output("status", "children", allow_duplicate=True),
        Input("download-button", "n_clicks"),
        State("scenario", "value"),
        *levers,
        prevent_initial_call=True,
    )(calls.download)
    return app


def _status(message: str, *, error: bool) -> html.Div:
    if error:
        return html.Div(
            [
                html.B("The run failed: "),
                message,
                html.Div("The results below are still those of the last run that worked."),
            ],
            id="error",
            role="alert",
            className="corridor-error",
        )
    return html.Div(message, id="run-info", className="corridor-ok")
