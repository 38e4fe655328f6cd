"""Commands that fit and forecast: calibrate, forecast, backtest, sensitivity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from corridor.cli.app import (
    Bar,
    _command,
    app,
    err,
    out,
    say,
)


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
    import pandas as pd

    from corridor.calibrate import calibrate
    from corridor.evidence import observed_files
    from corridor.scenario import load_scenario

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
        Path | None,
        typer.Option("--out", help="Parquet file (default runs/<scenario name>-forecast.parquet)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an --out file (or .json beside it) that is not an earlier forecast, "
            "or that is tracked by git."
        ),
    ] = False,
) -> None:
    """Forecast observed series month by month: median and 90% interval across runs of SCENARIO."""
    from corridor.forecast import check_forecast_target, forecast, read_requests, write_forecast
    from corridor.scenario import load_scenario

    sc = load_scenario(scenario)
    target = out_file or Path("runs") / f"{sc.name}-forecast.parquet"
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
        str,
        typer.Option(
            help="Origin months START:END[:STEP] (step in months) or single months, several separated by "
            "commas, e.g. 2019-03:2023-11:3,2023-05."
        ),
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
    from corridor.backtest import parse_origins, run_backtest, upstream_read_past_origins
    from corridor.scenario import load_scenario

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
    written = "scores.parquet, summary.csv, parameters.csv and scorecard.html"
    out.print(f"{computed}; wrote {result.out_dir}/{written}")
    known = upstream_read_past_origins(result.info)
    if known is not None:
        out.print(
            f"note: the scenario reads its upstream inflows for periods ending before {known}, "
            "months forecast included: a diagnostic of the model given demand, not a forecast"
        )


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
    from corridor.outputs import check_output_folder
    from corridor.scenario import load_scenario
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
