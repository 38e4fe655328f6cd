"""Commands that run scenarios and show them: run, report, compare, export-hxl, dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corridor.cli.app import (
    Bar,
    _command,
    app,
    out,
    print_frame,
    print_summary,
    say,
    warn,
)


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
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (headline figures, map, charts).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Write into an --out folder that holds other files (they are kept; without it, refused)."
        ),
    ] = False,
) -> None:
    """Simulate SCENARIO once; write daily.parquet and run.json to the output folder."""
    from corridor.outputs import check_output_folder
    from corridor.runner.single import RUN_OUTPUTS, simulate, write_run
    from corridor.scenario import load_scenario

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
    for line in results.info.get("warnings", []):
        warn(line)
    if not quiet:
        print_summary(results, out)
    if table is not None:
        print_frame(table, "main outcomes by month (flows: month total; stocks: last day)")
    if not quiet:
        out.print(f"wrote {written / 'daily.parquet'} and {written / 'run.json'}")
    if report:
        from corridor.report import write_report

        page = write_report(written)
        if not quiet:
            out.print(f"wrote {page}")


@_command(app)
def report(
    run_dir: Annotated[
        Path, typer.Argument(help="A folder written by corridor run, corridor ensemble or corridor compare.")
    ],
) -> None:
    """Write RUN_DIR/report.html: headline figures in sentences, a map of the corridor, monthly charts.

    The page is self-contained and works offline.
    """
    from corridor.report import write_report

    out.print(f"wrote {write_report(run_dir)}")


@_command(app, "compare")
def compare_cmd(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files; the first is the reference.")],
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per scenario (the same seeds for all).")] = 5,
    agents: Annotated[int | None, typer.Option(min=1, help="About how many agents per run.")] = 50_000,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a field in every scenario: dotted.path=value (repeatable); events.N names "
            "the first scenario's event N, and the event of the same name in the others.",
        ),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for compare.html and the tables.")] = Path(
        "runs/compare"
    ),
    force: Annotated[
        bool, typer.Option(help="Write into an --out folder that holds other files (they are kept).")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar or printed tables.")] = False,
) -> None:
    """Run SCENARIOS over the same seeds; print and plot the differences in the main outcomes."""
    import json

    import pandas as pd

    from corridor.atomic import write_text_atomically
    from corridor.outputs import check_output_folder
    from corridor.report import COMPARE_OUTPUTS, compare, comparison_html
    from corridor.report.figures import MIN_RUNS_FOR_QUANTILES
    from corridor.runner.single import scale_warning_for
    from corridor.scenario import load_scenario
    from corridor.scenario.paths import normalise_overrides

    overrides = normalise_overrides(set_ or [])
    loaded = [load_scenario(path, overrides) for path in scenarios]  # fail fast, before any run
    for line in dict.fromkeys(w for sc in loaded if (w := scale_warning_for(sc, agents))):
        warn(line)
    check_output_folder(out_dir, COMPARE_OUTPUTS, "compare_summary.csv", force=force, what="--out")
    result = compare(
        scenarios, seeds=range(seeds), agents=agents, overrides=overrides, progress=Bar(enabled=not quiet)
    )
    summary = result.summary()
    order = list(result.totals.columns)

    def cells(fmt: str) -> pd.DataFrame:
        table = summary.assign(cell=summary.apply(lambda r: fmt.format(**r), axis=1))
        return table.pivot(index="outcome", columns="scenario", values="cell").loc[order, result.scenarios]

    # Few seeds: the interval is their range (summary's "interval" column says which).
    ends = "min, max" if result.n_seeds < MIN_RUNS_FOR_QUANTILES else "5%, 95%"
    interval = f"[{ends}] over {seeds} seed{'s' if seeds != 1 else ''} ({summary['interval'].iloc[0]})"
    if not quiet:
        say(f"Main outcomes over the horizon, median {interval}:")
        say(cells("{median:,.0f} [{low:,.0f}, {high:,.0f}]").to_string())
        say(f"\nPaired difference from {result.scenarios[0]} (same seeds), median {interval}:")
        say(cells("{diff_median:+,.0f} [{diff_low:+,.0f}, {diff_high:+,.0f}]").iloc[:, 1:].to_string())
    out_dir.mkdir(parents=True, exist_ok=True)
    monthly = result.monthly.reset_index().assign(month=lambda d: d.month.astype(str))
    write_text_atomically(out_dir / "compare_monthly.csv", monthly.to_csv(index=False))
    write_text_atomically(out_dir / "compare.json", json.dumps(result.about, indent=2) + "\n")
    if result.by_place is not None:
        write_text_atomically(out_dir / "compare_places.csv", result.by_place.to_csv(index=False))
    html = comparison_html(result, out_dir / "compare.html")
    # The marker last: a folder with it holds a complete comparison.
    write_text_atomically(out_dir / "compare_summary.csv", summary.to_csv(index=False))
    out.print(f"wrote {html}, {out_dir / 'compare_summary.csv'}, {out_dir / 'compare_monthly.csv'}")


@_command(app, "export-hxl")
def export_hxl_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (corridor run's --out).")],
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="CSV file (default RUN_DIR/monthly_by_place_hxl.csv)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an --out file that is not an earlier export.")] = False,
) -> None:
    """Write the run's monthly outcomes by place as CSV with HXL hashtags, as HDX datasets are."""
    from corridor.hdx import write_hxl

    path = write_hxl(run_dir, out_file, force=force)
    out.print(f"wrote {path} (flows: month totals; stocks: the month's last day; persons)")


@_command(app, "dashboard")
def dashboard_cmd(
    scenario: Annotated[
        list[Path] | None,
        typer.Option(
            "--scenario",
            metavar="FILE",
            help="Scenario file to offer (repeatable; default: scenarios/*.yaml).",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8050,
    agents: Annotated[int, typer.Option(min=1, help="Agents per run the page starts with.")] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed the page starts with.")] = 1,
) -> None:
    """Serve a local web page to move a scenario's policy levers and see what changes."""
    from corridor.dashboard import serve

    serve(scenario or [], host=host, port=port, agents=agents, seed=seed)
