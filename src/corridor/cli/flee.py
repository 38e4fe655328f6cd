"""Flee's workloads: ``corridor flee run|validate`` and ``corridor bench flee-network``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from corridor.cli.app import (
    Bar,
    _command,
    app,
    err,
    out,
)
from corridor.cli.help import PlainHelpGroup

bench_app = typer.Typer(cls=PlainHelpGroup, no_args_is_help=True, help="Benchmarks (one JSON line each).")
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


flee_app = typer.Typer(
    cls=PlainHelpGroup, no_args_is_help=True, help="Flee 3.1 conflicts run with corridor's Flee kernel."
)
app.add_typer(flee_app, name="flee")


@_command(flee_app, "run")
def flee_run_cmd(
    input_csv: Annotated[
        Path, typer.Argument(help="Flee's input_csv folder (locations, routes, closures, ...).")
    ],
    source_data: Annotated[
        Path, typer.Argument(help="Flee's source_data folder (data_layout.csv and counts).")
    ],
    sim_period: Annotated[Path, typer.Argument(help="sim_period.csv (StartDate, Length).")],
    simsetting: Annotated[Path, typer.Argument(help="Flee's simsetting.yml.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for out.csv.")] = Path("out"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    days: Annotated[int | None, typer.Option(min=0, help="Days (default: sim_period.csv Length).")] = None,
    link_closures: Annotated[
        bool, typer.Option(help="Apply closures.csv's link closures (Flee 3.1 never does; off: as Flee).")
    ] = False,
    kernel: Annotated[
        str,
        typer.Option(
            help="vectorised (NumPy), compiled (agent by agent as Flee: the day built once ahead of time, "
            "else numba at run time), or auto (compiled if either can be had)."
        ),
    ] = "auto",
) -> None:
    """Run a Flee 3.1 / FabFlee conflict as Flee's run.py does; write Flee's out.csv and print its ARD."""
    # One process, one thread, no linear algebra: OpenBLAS's thread pool, started when NumPy is
    # first imported (below), would only cost CPU (about 0.1 s here). Set before that import;
    # a value the user set stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from corridor.flee.conflict import load_flee_conflict
    from corridor.flee.run import flee_ard, run_flee_conflict, write_out_csv

    conflict = load_flee_conflict(input_csv, source_data, sim_period, simsetting)
    warnings = list(conflict.settings.warnings)
    if not link_closures and any(c.kind == "link" for c in conflict.network.closures):
        warnings.append(
            "closures.csv: link closures ignored, as Flee 3.1 ignores them (--link-closures applies them)"
        )
    for line in warnings:
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    n_days = conflict.days if days is None else days
    bar = Bar("days")
    bar.start("flee run", n_days)
    try:
        run = run_flee_conflict(
            conflict,
            seed=seed,
            days=days,
            link_closures=link_closures,
            kernel=kernel,
            on_day=lambda _d: bar.advance(1),
        )
    finally:
        bar.finish()
    path = write_out_csv(run, out_dir)
    ard = flee_ard(path)
    out.print(
        f"wrote {path}: {int(run.agents[-1]) if n_days else 0:,} agents, {n_days} days, "
        f"{run.kernel} kernel, loop {run.loop_cpu_seconds:.2f} s CPU; "
        f"ARD rescaled {ard['rescaled']:.4f}, normal {ard['normal']:.4f}",
        highlight=False,
        soft_wrap=True,
    )


@_command(flee_app, "validate")
def flee_validate_cmd(
    out_csv: Annotated[Path, typer.Argument(help="An out.csv written by Flee or by `corridor flee run`.")],
) -> None:
    """Flee's averaged relative difference (ARD) of an out.csv, rescaled and normal; one JSON line."""
    import json

    from corridor.flee.run import flee_ard

    print(json.dumps(flee_ard(out_csv)))
