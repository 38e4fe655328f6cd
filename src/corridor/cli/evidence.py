"""Commands that compare runs with the data and run many: validate, ensemble."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from corridor.cli.app import (
    Bar,
    _command,
    app,
    out,
    print_outcomes,
    say,
    warn,
)


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
            formats=["%Y-%m-%d"],
            help="Held-out cut-off: outcomes for periods ending on or after it (default 2023-12-01).",
            show_default=False,
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
    from corridor.outputs import check_output_folder
    from corridor.scenario import load_scenario

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
    from corridor.runner.single import scale_warning_for
    from corridor.scenario import load_scenario

    sc = load_scenario(scenario, set_ or [])
    target = out_dir if out_dir is not None else Path("runs") / f"{sc.name}-ensemble"
    coarse = scale_warning_for(sc, agents, scale)
    if coarse:
        warn(coarse)
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
        print_outcomes(
            result.main_outcomes(), f"{sc.name}: main outcomes over {result.n_runs} runs (persons)", out
        )
        out.print(
            f"{result.n_runs} runs of {sc.name}: {len(result.computed)} computed, "
            f"{len(result.skipped)} already written; {result.wall_seconds:.1f} s wall"
        )
        out.print(
            f"wrote {result.runs_dir}/run=*/part.parquet, {result.summary_path} (per place), "
            f"{result.totals_path} (over all places) and manifest.json"
        )
