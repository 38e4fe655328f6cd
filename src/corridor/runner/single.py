"""The public entry points for one run: :func:`simulate` and :func:`write_run`.

``corridor run`` is these two calls; a notebook user calls them the same way::

    import corridor
    results = corridor.simulate("scenarios/mexico-2019.yaml", seed=1, agents=100_000)
    results.to_frame()          # tidy pandas table
    results.to_xarray()         # xarray Dataset
    corridor.write_run(results, "runs/2019")
"""

from __future__ import annotations

import json
import math
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corridor.engine.accelerate import compiled_kernels, compiles_first
from corridor.engine.core import run_engine
from corridor.errors import ScenarioError
from corridor.geography import Network, load_network
from corridor.metrics import Results, metric_table
from corridor.outputs import publish_folder
from corridor.provenance import peak_rss_bytes, versions
from corridor.runner.progress import Progress, as_progress
from corridor.scenario import Scenario, load_scenario
from corridor.timeline import Timeline, compile_timeline

__all__ = [
    "DEFAULT_AGENTS",
    "MIN_AGENTS_PER_STATION",
    "RUN_OUTPUTS",
    "available_memory_bytes",
    "check_run_size",
    "choose_scale",
    "coarse_scale_warning",
    "estimate_peak_bytes",
    "scale_warning_for",
    "simulate",
    "write_run",
]

#: Agents simulated when neither ``agents`` nor ``scale`` is given.
DEFAULT_AGENTS = 200_000

#: Fewest agents the smallest open detention station should hold: below it, its head count
#: moves in steps of more than a fifth of its capacity (one agent is ``scale`` persons), too
#: coarse to tell a full station from an overcrowded one (see :func:`coarse_scale_warning`).
MIN_AGENTS_PER_STATION = 5


def scale_warning_for(
    scenario: Scenario, agents: int | None = None, scale: float | None = None
) -> str | None:
    """:func:`coarse_scale_warning` for runs of ``scenario`` with these options (before running)."""
    timeline = compile_timeline(scenario, load_network())
    return coarse_scale_warning(timeline, choose_scale(timeline, agents, scale))


def coarse_scale_warning(timeline: Timeline, scale: float) -> str | None:
    """A warning when one agent stands for too many persons for the smallest detention station.

    The rule: the smallest station open at any time in the horizon must hold at least
    :data:`MIN_AGENTS_PER_STATION` agents (its capacity in persons / ``scale``). Below that,
    its occupancy moves in steps of more than 20% of its capacity, and whether it is beyond
    capacity is decided by one or two agents.

    Returns
    -------
    str or None
        The warning in one sentence, with the agent count that would avoid it; None if the
        scale is fine (or the scenario has no detention station).
    """
    capacities = np.concatenate([s.detention_capacity_persons for s in timeline.segments])
    capacities = capacities[capacities > 0]
    if capacities.size == 0:
        return None
    smallest = float(capacities.min())
    if smallest / scale >= MIN_AGENTS_PER_STATION:
        return None
    fine_scale = smallest / MIN_AGENTS_PER_STATION
    agents_needed = math.ceil(float(timeline.arrivals_persons.sum()) / fine_scale)
    return (
        f"one agent stands for {scale:.3g} persons, so the smallest detention station "
        f"({smallest:,.0f} persons) holds {smallest / scale:.1f} agents and its occupancy moves in "
        f"steps of {scale / smallest:.0%} of its capacity; detention beyond capacity is coarse. "
        f"Use about {agents_needed:,} agents or more (--scale {fine_scale:.3g}) for at least "
        f"{MIN_AGENTS_PER_STATION} agents per station"
    )


def choose_scale(timeline: Timeline, agents: int | None = None, scale: float | None = None) -> float:
    """Persons per agent: ``scale`` if given, else the one that gives about ``agents`` first arrivals."""
    if scale is not None and agents is not None:
        raise ScenarioError([("options", None, "give agents or scale, not both")], what="run options")
    if scale is not None:
        if not (isinstance(scale, int | float | np.number) and math.isfinite(scale) and scale > 0):
            raise ScenarioError(
                [("options.scale", None, f"scale must be a finite number > 0 (got {scale!r})")],
                what="run options",
            )
        return float(scale)
    target = DEFAULT_AGENTS if agents is None else agents
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 1:
        raise ScenarioError(
            [("options.agents", None, f"agents must be a whole number >= 1 (got {target!r})")],
            what="run options",
        )
    persons = float(timeline.arrivals_persons.sum())
    if not persons > 0:
        sc = timeline.scenario
        raise ScenarioError(
            [
                (
                    "inflows",
                    None,
                    f"no one enters Mexico between {sc.horizon.start} and {sc.horizon.end}: the inflows "
                    "give 0 persons in the horizon (do their months or file cover it?)",
                )
            ]
        )
    return persons / target


#: Peak bytes per agent while a population is drawn and simulated: 29 B of population
#: arrays and the temporaries that draw them. benchmarks/engine_scaling.py measures about
#: 49 B marginal peak per agent; rounded up here, so that the check errs on the safe side.
PEAK_BYTES_PER_AGENT = 64


def estimate_peak_bytes(timeline: Timeline, n_agents: float) -> int:
    """Memory a run needs beyond the interpreter's: the agents and the daily counters.

    The counters hold (day, metric, place, nationality) cells; the results and their tidy
    table take up to about twice as much again, so they count three times.
    """
    from corridor.metrics import EXTRA_STOCKS, FLOWS, PLACE_SERIES, STOCKS

    n_places = len(timeline.network.place_names)
    cells = timeline.n_days * n_places
    counters = cells * len(timeline.nationalities) * (len(FLOWS) + len(STOCKS) + len(EXTRA_STOCKS)) * 4
    counters += cells * len(PLACE_SERIES) * 8
    return int(n_agents * PEAK_BYTES_PER_AGENT + 3 * counters)


def available_memory_bytes() -> int | None:
    """Memory this process may still use: the least of the machine's available memory, the
    cgroup (container) limit left, and the address-space limit. None where none is known."""
    limits: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        cg = Path("/sys/fs/cgroup")
        top, used = (cg / "memory.max").read_text().strip(), (cg / "memory.current").read_text().strip()
        if top != "max":
            limits.append(int(top) - int(used))
    except (OSError, ValueError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft - _current_vm_bytes())
    return max(0, min(limits)) if limits else None


def _current_vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def check_run_size(timeline: Timeline, scale: float) -> int:
    """Refuse, before allocating anything, a run larger than the memory available.

    Returns
    -------
    int
        About how many agents the run simulates.

    Raises
    ------
    ScenarioError
        Naming the memory the run would need and the memory there is.
    """
    persons = float(timeline.arrivals_persons.sum())
    n_agents = persons / scale
    if n_agents < 1:
        raise ScenarioError(
            [
                (
                    "options.scale",
                    None,
                    f"{scale:g} persons per agent leaves fewer than one agent for the "
                    f"{persons:,.0f} persons who enter; use a smaller --scale or --agents",
                )
            ],
            what="run size",
        )
    need = estimate_peak_bytes(timeline, n_agents)
    have = available_memory_bytes()
    if have is not None and need > 0.8 * have:
        gib = 2.0**30
        raise ScenarioError(
            [
                (
                    "options.agents",
                    None,
                    f"about {n_agents:,.0f} agents over {timeline.n_days:,} days need about "
                    f"{need / gib:.2f} GiB of memory, and {have / gib:.2f} GiB is available; use fewer "
                    "--agents (a larger --scale) or a shorter horizon",
                )
            ],
            what="run size",
        )
    return round(n_agents)


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int = 0,
    agents: int | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    network: Network | None = None,
    progress: Progress | None = None,
    on_day: Callable[[int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> Results:
    """Simulate a scenario once.

    Parameters
    ----------
    scenario : Scenario or path
        A validated scenario, or the path of a YAML file.
    seed : int
        Seed of the run's random generator; the same seed gives the same results.
    agents, scale : optional
        Either about how many agents to simulate (default ``DEFAULT_AGENTS``), or how
        many persons one agent stands for. Results are in persons either way.
    overrides : mapping or list of "path=value", optional
        Applied to the scenario file before validation (only with a path).
    network : Network, optional
        Defaults to the geography shipped with corridor.
    progress : Progress, optional
        Told of the run once it is checked (``start("<name>: about N agents x D days",
        D)``), then of each day simulated (:mod:`corridor.runner.progress`).
    on_day, on_start : callable, optional
        Older forms of ``progress``: called with each day index after it is simulated, and
        with (about how many agents, days) before the run starts.

    Returns
    -------
    Results

    Raises
    ------
    ScenarioError
        An invalid scenario or options, a horizon no one enters in, a negative seed, or a
        run that needs more memory than is available (checked before anything is allocated).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ScenarioError(
            [("options.seed", None, f"seed must be a whole number >= 0 (got {seed!r})")], what="run options"
        )
    if isinstance(scenario, Scenario):
        if overrides:
            raise ScenarioError([("overrides", None, "overrides apply to a scenario file; pass its path")])
        sc = scenario
    else:
        sc = load_scenario(scenario, overrides)
    net = network if network is not None else load_network()
    timeline = compile_timeline(sc, net)
    k = choose_scale(timeline, agents, scale)
    n_agents = check_run_size(timeline, k)
    if on_start is not None:
        on_start(n_agents, timeline.n_days)
    bar = as_progress(progress)

    def day_done(day: int) -> None:
        bar.advance()
        if on_day is not None:
            on_day(day)

    about = f"{sc.name}: about {n_agents:,} agents x {timeline.n_days:,} days"
    if compiles_first(compiled_kernels()):
        about += " (compiling the engine's phases first, once after installing or changing them)"
    bar.start(about, timeline.n_days)
    start = time.perf_counter()
    try:
        results, sim = run_engine(timeline, k, seed, on_day=day_done if progress is not None else on_day)
    finally:
        bar.finish()
    wall = time.perf_counter() - start
    results.info.update(
        {
            "scenario": sc.name,
            "scenario_sha256": sc.sha256,
            "seed": seed,
            "scale_persons_per_agent": k,
            "agents": sim.pop.n,
            "persons_first_arrivals": float(timeline.arrivals_persons.sum()),
            "days": timeline.n_days,
            "spin_up_days": sc.horizon.spin_up_days,
            "wall_seconds": wall,
            "agent_steps": sim.agent_steps,
            "agent_steps_per_second": sim.agent_steps / wall if wall > 0 else float("nan"),
            "population_bytes": sim.pop.nbytes,
            "peak_rss_bytes": peak_rss_bytes(),
            # which phases ran (the same results either way: corridor.engine.accelerate)
            "engine": "numpy" if sim.kernels is None else "numba",
            "warnings": [w for w in (coarse_scale_warning(timeline, k),) if w],
        }
    )
    return results


#: What a run folder holds (``monthly.csv``: ``corridor run --monthly``); ``run.json`` marks it.
#: ``metrics.csv`` says each metric's kind, unit and meaning (:func:`corridor.metrics.metric_table`),
#: ``routes.csv`` people and deaths by route and travel mode (:meth:`corridor.Results.routes`);
#: ``report.html`` is written afterwards by ``corridor report`` (:func:`corridor.report.write_report`),
#: ``monthly_by_place_hxl.csv`` by ``corridor export-hxl`` (:func:`corridor.hdx.write_hxl`).
RUN_OUTPUTS = (
    "daily.parquet",
    "metrics.csv",
    "run.json",
    "monthly.csv",
    "report.html",
    "monthly_by_place_hxl.csv",  # corridor.hdx.HXL_NAME (hdx is a layer above: no import)
    "routes.csv",
)


def write_run(
    results: Results,
    out: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    extra: Mapping[str, Callable[[Path], None]] | None = None,
    force: bool = False,
) -> Path:
    """Write ``daily.parquet``, ``metrics.csv`` and ``run.json`` into ``out``, atomically.

    The files are written into a temporary folder, then published in one rename (see
    :func:`corridor.outputs.publish_folder`): an interrupted run leaves the previous output
    (or none), never a half-written one. ``out`` must be new, empty, or hold only an
    earlier run's files: a folder holding anything else is refused before the simulation's
    files are written, unless ``force`` (then corridor writes beside those files and
    deletes none of them).

    Parameters
    ----------
    results : Results
    out : path
        The output folder.
    options : mapping, optional
        Recorded in run.json (how the run was asked for).
    extra : mapping of file name to writer, optional
        More files of the run (``monthly.csv``), each written by ``writer(path)``.
    force : bool
        Write into a folder that holds other files (they are kept).

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    OutputError
        ``out`` holds files corridor did not write (and ``force`` is off), or is not a folder.
    """

    def write(tmp: Path) -> None:
        table = pa.Table.from_pandas(results.to_frame(), preserve_index=False)
        pq.write_table(table, tmp / "daily.parquet", compression="zstd")
        (tmp / "metrics.csv").write_text(metric_table().to_csv(index=False))
        if results.link_counts is not None:
            (tmp / "routes.csv").write_text(results.routes().to_csv(index=False, float_format="%.6g"))
        for name, writer in (extra or {}).items():
            writer(tmp / name)
        meta = {
            "versions": versions(),
            **results.info,
            "options": dict(options or {}),
            "identity_check": results.identity_check(),
            "asylum_waits": _asylum_waits_json(results),
            "outputs": {"daily.parquet": {"rows": table.num_rows, "columns": table.column_names}},
        }
        (tmp / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")

    return publish_folder(out, write, RUN_OUTPUTS, "run.json", force=force)


def _asylum_waits_json(results: Results) -> dict[str, Any] | None:
    """The horizon's asylum wait distribution for run.json (NaN as null), or None without it."""
    if results.asylum_wait_counts is None:
        return None
    table = results.asylum_waits()
    return {
        str(outcome): {
            str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()
        }
        for outcome, row in table.to_dict("index").items()
    }
