"""The ``corridor`` command line. Thin: each command calls the public Python API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from corridor.errors import CorridorError
from corridor.metrics import Results
from corridor.outputs import check_output_folder
from corridor.runner.single import RUN_OUTPUTS, simulate, write_run
from corridor.scenario import load_scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate migration through the Central America - Mexico - US corridor.",
)
err = Console(stderr=True)
out = Console()


def _version(value: bool) -> None:
    if value:
        from corridor._version import __version__

        out.print(f"corridor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Simulate migration through the Central America - Mexico - US corridor."""


def _fail(exc: Exception) -> typer.Exit:
    # soft_wrap: one line stays one line however narrow the terminal (or a log file).
    err.print(
        f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True, emoji=False
    )
    return typer.Exit(code=2)


_Command = TypeVar("_Command", bound=Callable[..., None])


def _command(group: typer.Typer, name: str | None = None) -> Callable[[_Command], _Command]:
    """Register a command that reports any :class:`CorridorError` as one line and exit 2.

    This is the one place the command line catches corridor's errors: each command calls the
    API and lets them rise.
    """

    def register(command: _Command) -> _Command:
        @functools.wraps(command)
        def reporting(*args: Any, **kwargs: Any) -> None:
            try:
                command(*args, **kwargs)
            except CorridorError as exc:
                raise _fail(exc) from None

        group.command(name)(reporting)
        return command

    return register


class Bar:
    """The command line's one progress renderer: a rich bar on stderr.

    It implements :class:`corridor.runner.progress.Progress`, the protocol through which the
    library reports progress (the library draws nothing). Each ``start`` shows a new bar
    (transient: gone once finished). With ``announce``, the description is first printed as
    a line of its own, and the bar is labelled with the part before its first colon.
    """

    def __init__(self, unit: str = "runs", *, enabled: bool = True, announce: bool = False) -> None:
        self.unit = unit
        self.enabled = enabled
        self.announce = announce
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, description: str, total: int, done: int = 0) -> None:
        """Show a bar of ``total`` steps, ``done`` of them done."""
        self.finish()
        if not self.enabled:
            return
        label = description
        if self.announce:
            err.print(description, highlight=False, markup=False, soft_wrap=True)
            label = description.partition(":")[0]
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(self.unit),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._task = self._bar.add_task(escape(label), total=total, completed=done)
        self._bar.start()

    def advance(self, n: int = 1) -> None:
        """``n`` more steps done."""
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def finish(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def print_summary(results: Results, console: Console) -> None:
    """Print the run's headline figures as a table."""
    s = results.summary()
    span = f"{results.dates[0]:%Y-%m-%d} to {results.dates[-1]:%Y-%m-%d}"
    table = Table(title=f"{results.info.get('scenario', '')}: {span}")
    table.add_column("flow (persons, whole horizon)")
    table.add_column("total", justify="right")
    for _, row in s[s.kind == "flow"].iterrows():
        table.add_row(str(row.metric), f"{row.total:,.0f}")
    console.print(table)
    stocks = Table(title="stocks (persons)")
    stocks.add_column("stock")
    stocks.add_column("end", justify="right")
    stocks.add_column("peak", justify="right")
    for _, row in s[s.kind == "stock"].iterrows():
        stocks.add_row(str(row.metric), f"{row.end:,.0f}", f"{row.peak:,.0f}")
    console.print(stocks)
    ident = results.identity_check()
    info = results.info
    console.print(
        f"identity present = arrivals - exits: [bold]{'holds' if ident['holds'] else 'BROKEN'}[/] "
        f"over {ident['days_checked']} days; {info['agents']:,} agents x "
        f"{info['scale_persons_per_agent']:.3g} persons; {info['wall_seconds']:.1f} s wall, "
        f"{info['agent_steps_per_second']:,.0f} agent-steps/s"
    )


def say(text: str) -> None:
    """Print plain text (tables too wide for rich's) to standard output, unwrapped."""
    out.print(text, width=max(out.width, 200), soft_wrap=True, highlight=False, markup=False)


def print_frame(frame: pd.DataFrame, title: str) -> None:
    """Print a numeric table, outcomes as rows (too wide for a rich table)."""
    say(title)
    say(frame.T.to_string(float_format=lambda v: f"{v:,.0f}"))


@_command(app)
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default runs/<scenario name>).")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (>= 0).")] = 0,
    agents: Annotated[int | None, typer.Option(min=1, help="About how many agents to simulate.")] = None,
    scale: Annotated[float | None, typer.Option(help="Persons per agent (instead of --agents).")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field: dotted.path=value (repeatable)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar or summary.")] = False,
    monthly: Annotated[
        bool, typer.Option(help="Also print the main outcomes by month (and write monthly.csv).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Write into an --out folder that holds other files (they are kept; without it, refused)."
        ),
    ] = False,
) -> None:
    """Simulate SCENARIO once; write daily.parquet and run.json to the output folder."""
    sc = load_scenario(scenario, set_ or [])
    target = out_dir if out_dir is not None else Path("runs") / sc.name
    check_output_folder(target, RUN_OUTPUTS, "run.json", force=force, what="--out")  # before the run
    results = simulate(
        sc, seed=seed, agents=agents, scale=scale, progress=Bar("days", enabled=not quiet, announce=True)
    )
    options = {
        "scenario_path": str(scenario),
        "seed": seed,
        "agents": agents,
        "scale": scale,
        "set": set_ or [],
    }
    table = None
    if monthly:
        from corridor.report import monthly_outcomes

        table = monthly_outcomes(results)
    extra = {} if table is None else {"monthly.csv": table.to_csv}
    written = write_run(results, target, options, extra=extra, force=force)
    if not quiet:
        print_summary(results, out)
    if table is not None:
        print_frame(table, "main outcomes by month (flows: month total; stocks: last day)")
    if not quiet:
        out.print(f"wrote {written / 'daily.parquet'} and {written / 'run.json'}")


@_command(app, "compare")
def compare_cmd(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files; the first is the reference.")],
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per scenario (the same seeds for all).")] = 5,
    agents: Annotated[int | None, typer.Option(min=1, help="About how many agents per run.")] = 50_000,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for compare.html and the tables.")] = Path(
        "runs/compare"
    ),
    force: Annotated[
        bool, typer.Option(help="Write into an --out folder that holds other files (they are kept).")
    ] = False,
) -> None:
    """Run SCENARIOS over the same seeds; print and plot the differences in the main outcomes."""
    from corridor.atomic import write_text_atomically
    from corridor.report import COMPARE_OUTPUTS, compare, comparison_html

    for path in scenarios:
        load_scenario(path)  # fail fast, before any run
    check_output_folder(out_dir, COMPARE_OUTPUTS, "compare_summary.csv", force=force, what="--out")
    result = compare(scenarios, seeds=range(seeds), agents=agents, progress=Bar())
    summary = result.summary()
    order = list(result.totals.columns)

    def cells(fmt: str) -> pd.DataFrame:
        table = summary.assign(cell=summary.apply(lambda r: fmt.format(**r), axis=1))
        return table.pivot(index="outcome", columns="scenario", values="cell").loc[order, result.scenarios]

    say(f"Main outcomes over the horizon, median [5%, 95%] over {seeds} seeds:")
    say(cells("{median:,.0f} [{q05:,.0f}, {q95:,.0f}]").to_string())
    say(f"\nPaired difference from {result.scenarios[0]} (same seeds), median [5%, 95%]:")
    say(cells("{diff_median:+,.0f} [{diff_q05:+,.0f}, {diff_q95:+,.0f}]").iloc[:, 1:].to_string())
    out_dir.mkdir(parents=True, exist_ok=True)
    monthly = result.monthly.reset_index().assign(month=lambda d: d.month.astype(str))
    write_text_atomically(out_dir / "compare_monthly.csv", monthly.to_csv(index=False))
    html = comparison_html(result, out_dir / "compare.html")
    # The marker last: a folder with it holds a complete comparison.
    write_text_atomically(out_dir / "compare_summary.csv", summary.to_csv(index=False))
    out.print(f"wrote {html}, {out_dir / 'compare_summary.csv'}, {out_dir / 'compare_monthly.csv'}")


@_command(app, "validate")
def validate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    observed: Annotated[
        list[str] | None,
        typer.Option(
            "--observed",
            help="Observed CSV in the shipped format (repeatable; default the shipped files; "
            "'shipped' names them).",
        ),
    ] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Seeds 0..N-1.")] = 5,
    agents: Annotated[int | None, typer.Option(min=1, help="About how many agents per run.")] = 50_000,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for validation.csv/.json/.html (default runs/<name>-validate)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field: dotted.path=value (repeatable)."),
    ] = None,
    warmup_days: Annotated[
        int, typer.Option(min=0, help="Skip observations starting in the first N days (runs start empty).")
    ] = 0,
    held_out_from: Annotated[
        datetime,
        typer.Option(
            formats=["%Y-%m-%d"], help="Held-out cut-off: outcomes for periods ending on or after it."
        ),
    ] = datetime(2023, 12, 1),
    include_held_out: Annotated[
        bool, typer.Option(help="Also compare held-out outcomes (only for the final forecast test).")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Write into an --out folder that holds other files (they are kept).")
    ] = False,
) -> None:
    """Run SCENARIO over --runs seeds and compare it with every observed value in its horizon."""
    from corridor.evidence import observed_files, validate
    from corridor.evidence.validation import VALIDATION_OUTPUTS

    files = None
    if observed:
        files = [p for f in observed for p in (observed_files() if f == "shipped" else [Path(f)])]
    sc = load_scenario(scenario, set_ or [])
    target = out_dir if out_dir is not None else Path("runs") / f"{sc.name}-validate"
    check_output_folder(target, VALIDATION_OUTPUTS, "validation.json", force=force, what="--out")
    result = validate(
        sc,
        runs=runs,
        observed=files,
        agents=agents,
        include_held_out=include_held_out,
        held_out_from=held_out_from,
        warmup_days=warmup_days,
        progress=Bar(),
    )
    summary = result.summary()
    say(f"Observed against simulated (median and 5-95% over {runs} seeds):")
    table = result.display().to_string(index=False) if len(result.table) else "(no observed value in range)"
    say(table)
    say("\nPer series:")
    say(result.per_series().to_string(float_format=lambda v: f"{v:.2f}", na_rep=""))
    o = summary["overall"]
    err_text = "n/a" if o["median_abs_log_error"] is None else f"{o['median_abs_log_error']:.2f}"
    inside_text = "n/a" if o["share_inside_90"] is None else f"{o['share_inside_90']:.0%}"
    say(
        f"\nOverall: {o['observations']} observations, median |log(sim/obs)| {err_text}, "
        f"inside the 90% interval {inside_text}; {summary['skipped_rows']} observed rows skipped "
        f"(see validation_skipped.csv), {summary['held_out_rows']} held-out rows not read."
    )
    paths = result.write(target, force=force)
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}")


@_command(app)
def ensemble(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of runs.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default runs/<scenario name>-ensemble).")
    ] = None,
    first_seed: Annotated[
        int, typer.Option("--first-seed", min=0, help="Seed of run 0; run i has seed S+i.")
    ] = 0,
    posterior: Annotated[
        Path | None,
        typer.Option(
            help="Parameter draws (Parquet or CSV): columns are dotted scenario paths, plus 'weight'."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: CPU count).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:8786) instead of local workers.")
    ] = None,
    agents: Annotated[int | None, typer.Option(min=1, help="About how many agents per run.")] = None,
    scale: Annotated[float | None, typer.Option(help="Persons per agent (instead of --agents).")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field in every run: dotted.path=value (repeatable)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar or report.")] = False,
) -> None:
    """Run SCENARIO --runs times (seeds, posterior draws); write every run and the quantiles across runs.

    Re-running the same command resumes: runs already written are skipped.
    """
    from corridor.ensemble import run_ensemble

    sc = load_scenario(scenario, set_ or [])
    target = out_dir if out_dir is not None else Path("runs") / f"{sc.name}-ensemble"
    result = run_ensemble(
        scenario,
        target,
        runs,
        first_seed=first_seed,
        agents=agents,
        scale=scale,
        overrides=set_ or [],
        posterior=posterior,
        workers=workers,
        scheduler=scheduler,
        progress=Bar(enabled=not quiet),
    )
    if not quiet:
        out.print(
            f"{result.n_runs} runs of {sc.name}: {len(result.computed)} computed, "
            f"{len(result.skipped)} already written; {result.wall_seconds:.1f} s wall"
        )
        out.print(f"wrote {result.runs_dir}/run=*/part.parquet, {result.summary_path} and manifest.json")


@_command(app, "calibrate")
def calibrate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with a 'priors:' section.")],
    budget: Annotated[
        int, typer.Option(min=1, help="Simulations in all (the database's earlier ones included).")
    ],
    observed: Annotated[
        list[str] | None,
        typer.Option(
            "--observed",
            help="Observed CSV in the shipped format (repeatable; default the shipped files; "
            "'shipped' names them). Held-out outcomes are never read.",
        ),
    ] = None,
    population: Annotated[int, typer.Option("--population", min=2, help="Particles per generation.")] = 50,
    generations: Annotated[
        int | None, typer.Option(min=1, help="Also stop after N generations in this call.")
    ] = None,
    agents: Annotated[int, typer.Option(min=1, help="About how many agents per simulation.")] = 20_000,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:8786) instead of local cores.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: CPU count).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default runs/<scenario name>-calibration)."),
    ] = None,
    warmup_days: Annotated[
        int, typer.Option(min=0, help="Do not fit observations starting in the first N days.")
    ] = 0,
    check_runs: Annotated[
        int, typer.Option(min=0, help="Runs of the posterior predictive check (0: none).")
    ] = 5,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, help="Seed: a reproducible calibration, also when interrupted and resumed (--workers 1)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Write into an --out folder that holds other files (they are kept).")
    ] = False,
) -> None:
    """Fit SCENARIO's priors to the observed data (ABC-SMC, pyabc); write the posterior and a
    calibrated scenario. Re-running with the same --out resumes from the database."""
    from corridor.calibrate import calibrate
    from corridor.evidence import observed_files

    files = None
    if observed:
        files = [p for f in observed for p in (observed_files() if f == "shipped" else [Path(f)])]
    sc = load_scenario(scenario)
    target = out_dir if out_dir is not None else Path("runs") / f"{sc.name}-calibration"
    result = calibrate(
        scenario,
        files,
        budget=budget,
        population_size=population,
        generations=generations,
        agents=agents,
        scheduler=scheduler,
        workers=workers,
        out_dir=target,
        warmup_days=warmup_days,
        check_runs=check_runs,
        seed=seed,
        force=force,
        progress=Bar("simulations"),
    )
    s = result.summary
    say(f"{s['observations']} observed values fitted; {s['total_simulations']} simulations")
    for g in s["generations"]:
        say(f"  generation {g['t']}: epsilon {g['epsilon']:.3f}, {g['simulations']} simulations")
    rows = {
        path: {
            "scenario": p["scenario_value"],
            "prior q05": p["prior_q05"],
            "prior q95": p["prior_q95"],
            "post q05": p["posterior_q05"],
            "post median": p["posterior_median"],
            "post q95": p["posterior_q95"],
        }
        for path, p in s["parameters"].items()
    }
    say(pd.DataFrame(rows).T.to_string(float_format=lambda v: f"{v:.4g}"))
    check = s.get("check")
    if check:
        for label, key in (
            ("calibrated scenario", "calibrated_scenario"),
            ("posterior draws", "posterior_draws"),
        ):
            o = check[key]
            e = "n/a" if o["median_abs_log_error"] is None else f"{o['median_abs_log_error']:.2f}"
            i = "n/a" if o["share_inside_90"] is None else f"{o['share_inside_90']:.0%}"
            say(f"check, {label}: median |log(sim/obs)| {e}, inside the 90% interval {i}")
    out.print(f"wrote {result.posterior_path}, {result.scenario_path}, {result.summary_path}")


@_command(app, "forecast")
def forecast_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (typically a calibrated one).")],
    targets: Annotated[
        Path,
        typer.Option(help="CSV of what to forecast: columns series, geography, breakdown (empty: total)."),
    ],
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d", "%Y-%m"], help="First month.")],
    end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d", "%Y-%m"], help="Last month.")],
    posterior: Annotated[
        Path | None, typer.Option(help="Parameter draws (posterior.parquet from corridor calibrate).")
    ] = None,
    runs: Annotated[int, typer.Option(min=2, help="Runs (seeds, each with a posterior draw).")] = 40,
    agents: Annotated[int | None, typer.Option(min=1, help="About how many agents per run.")] = 50_000,
    workers: Annotated[int | None, typer.Option(min=1, help="Local processes (default: CPU count).")] = None,
    observed: Annotated[
        list[Path] | None,
        typer.Option(help="Observed CSVs for the parts not simulated (default: the shipped ones)."),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Parquet file (default forecasts/<scenario name>.parquet).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace an --out file (or .json beside it) that is not an earlier forecast.")
    ] = False,
) -> None:
    """Forecast observed series month by month: median and 90% interval across runs of SCENARIO."""
    from corridor.forecast import check_forecast_target, forecast, read_requests, write_forecast

    sc = load_scenario(scenario)
    target = out_file or Path("forecasts") / f"{sc.name}.parquet"
    check_forecast_target(target, force=force)  # before the runs
    requests = read_requests(targets, start.date(), end.date())
    result = forecast(
        scenario,
        requests,
        runs=runs,
        agents=agents,
        posterior=posterior,
        observed=observed,
        workers=workers,
        progress=Bar(),
    )
    path = write_forecast(result, target, force=force)
    shown = result.table.assign(
        month=result.table["period_start"].dt.strftime("%Y-%m"),
        breakdown=result.table["breakdown"].replace("", "total"),
    )
    say(
        shown[["series", "geography", "breakdown", "month", "q05", "median", "q95"]].to_string(
            index=False, float_format=lambda v: f"{v:,.0f}"
        )
    )
    out.print(f"wrote {path} and {path.with_suffix('.json')}")


@_command(app, "backtest")
def backtest_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with priors and derived inputs.")],
    origins: Annotated[
        str, typer.Option(help="Origin months START:END[:STEP], e.g. 2019-03:2023-11:3 (step in months).")
    ],
    horizons: Annotated[
        int, typer.Option(min=1, help="Months forecast from each origin (1 = the origin).")
    ] = 6,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder (default backtests/<scenario name>).")
    ] = None,
    draws: Annotated[int, typer.Option(min=2, help="Prior draws simulated at each origin.")] = 40,
    keep: Annotated[
        int, typer.Option(min=1, help="Draws kept at each origin: the closest to the data.")
    ] = 10,
    fit_months: Annotated[
        int, typer.Option(min=1, help="Months before an origin the runs are fitted to.")
    ] = 12,
    history_months: Annotated[
        int | None, typer.Option(min=1, help="Start each run this many months before its origin.")
    ] = None,
    agents: Annotated[int, typer.Option(min=1, help="About how many agents per run.")] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Seeds the draws, the runs and the baselines.")] = 0,
    workers: Annotated[int | None, typer.Option(min=1, help="Local processes (default: CPU count).")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, instead of local workers.")
    ] = None,
    observed: Annotated[
        list[Path] | None, typer.Option(help="Observed CSVs (default: the shipped ones).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Write into a folder holding other files (they are kept).")
    ] = False,
) -> None:
    """Forecast every origin month from what was known before it; score against baselines."""
    from corridor.backtest import parse_origins, run_backtest

    months = parse_origins(origins)
    target = out_dir or Path("backtests") / load_scenario(scenario).name
    result = run_backtest(
        scenario,
        months,
        target,
        horizons=horizons,
        draws=draws,
        keep=keep,
        fit_months=fit_months,
        history_months=history_months,
        agents=agents,
        seed=seed,
        observed=observed,
        workers=workers,
        scheduler=scheduler,
        progress=Bar(),
        force=force,
    )
    columns = ["method", "horizon", "n", "median_abs_log_error", "coverage", "mean_crps_log", "skill"]
    say(result.summary[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    computed = f"{len(result.computed)} origins computed, {len(months) - len(result.computed)} read back"
    out.print(f"{computed}; wrote {result.out_dir}/scores.parquet, summary.csv and scorecard.html")


@_command(app, "sensitivity")
def sensitivity_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    method: Annotated[
        str, typer.Option(help="morris (screening, the default) or sobol (variance shares, more runs).")
    ] = "morris",
    trajectories: Annotated[
        int,
        typer.Option(
            min=2, help="Morris trajectories R (R(k+1) runs), or Sobol base samples N (N(k+2) runs)."
        ),
    ] = 6,
    agents: Annotated[int, typer.Option(min=1, help="About how many agents per run.")] = 20_000,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: CPU count).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Vary dotted.path over low:high (repeatable; 'path*=0.5:2' multiplies every number "
            "under path). Default: the scenario's assumed parameters, x0.5 to x2.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Fixed override for every run: dotted.path=value (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of every run (common random numbers).")] = 0,
    top: Annotated[int, typer.Option(min=1, help="Parameters printed per outcome.")] = 3,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for sensitivity.csv/.html (default runs/<name>-sensitivity)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    force: Annotated[
        bool, typer.Option(help="Write into an --out folder that holds other files (they are kept).")
    ] = False,
) -> None:
    """Which uncertain parameters move which outcomes: Morris screening or Sobol indices (SALib)."""
    from corridor.errors import SensitivityError
    from corridor.sensitivity import (
        check_parameters,
        default_parameters,
        evaluations_needed,
        parse_param,
        run_sensitivity,
        write_sensitivity,
    )
    from corridor.sensitivity.outputs import SENSITIVITY_OUTPUTS

    if method not in ("morris", "sobol"):
        raise SensitivityError(f"--method {method!r}: morris or sobol")
    sc = load_scenario(scenario, set_ or [])
    params = [parse_param(p) for p in param] if param else default_parameters(sc)
    check_parameters(scenario, params, set_ or [])
    target = out_dir if out_dir is not None else Path("runs") / f"{sc.name}-sensitivity"
    check_output_folder(target, SENSITIVITY_OUTPUTS, "sensitivity.json", force=force, what="--out")
    n = evaluations_needed(method, len(params), trajectories)
    err.print(f"{sc.name}: {method}, {len(params)} parameters, {n} runs of {agents:,} agents")
    result = run_sensitivity(
        scenario,
        params,
        method=method,
        trajectories=trajectories,
        agents=agents,
        seed=seed,
        workers=workers,
        overrides=set_ or [],
        progress=Bar(enabled=not quiet),
    )
    paths = write_sensitivity(result, target, force=force)
    score = "Morris mu* x sd(parameter) / sd(outcome)" if method == "morris" else "total-order Sobol ST"
    say(f"Top parameters per outcome (score: {score}; ~ within seed noise):")
    say(result.ranking_table(top).to_string())
    say(f"{result.info['evaluations']} runs in {result.info['wall_seconds']:.1f} s wall")
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}")


bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (one JSON line each).")
app.add_typer(bench_app, name="bench")


@_command(bench_app, "flee-network")
def bench_flee_network_cmd(
    flee_input: Annotated[
        Path | None, typer.Option(help="Flee input folder (default: the synthetic corridor shipped).")
    ] = None,
    agents: Annotated[int, typer.Option(min=1, help="People placed at the day-0 conflict zones.")] = 10_000,
    days: Annotated[int | None, typer.Option(min=0, help="Days (default: sim_period.csv Length).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    capacities_for: Annotated[
        int | None,
        typer.Option(min=1, help="Agent count the file's camp capacities are for; scaled to --agents."),
    ] = None,
) -> None:
    """Flee 3.1's movement rules on a Flee network with corridor's kernel; print one JSON line."""
    import json

    from corridor.flee import bench_flee_network, bundled_flee_corridor

    record = bench_flee_network(
        flee_input or bundled_flee_corridor(), agents, days, seed=seed, capacities_for=capacities_for
    )
    print(json.dumps(record))


def main() -> None:
    """Entry point of the ``corridor`` script."""
    try:
        app()
    except OSError as exc:  # a file that cannot be read or written (permissions, disk full)
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except MemoryError:
        err.print(
            "[bold red]error:[/] out of memory; use fewer --agents or a shorter horizon", highlight=False
        )
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
