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
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corridor.engine.core import run_engine
from corridor.geography import Network, load_network
from corridor.metrics import Results
from corridor.scenario import Scenario, ScenarioError, load_scenario
from corridor.timeline import Timeline, compile_timeline

__all__ = ["DEFAULT_AGENTS", "choose_scale", "simulate", "write_run"]

#: Agents simulated when neither ``agents`` nor ``scale`` is given.
DEFAULT_AGENTS = 200_000


def choose_scale(timeline: Timeline, agents: int | None = None, scale: float | None = None) -> float:
    """Persons per agent: ``scale`` if given, else the one that gives about ``agents`` first arrivals."""
    if scale is not None and agents is not None:
        raise ScenarioError([("options", None, "give agents or scale, not both")])
    if scale is not None:
        if not scale > 0:
            raise ScenarioError([("options.scale", None, f"scale must be > 0 (got {scale})")])
        return float(scale)
    target = DEFAULT_AGENTS if agents is None else agents
    if target < 1:
        raise ScenarioError([("options.agents", None, f"agents must be >= 1 (got {target})")])
    persons = float(timeline.arrivals_persons.sum())
    return persons / target if persons > 0 else 1.0


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int = 0,
    agents: int | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    network: Network | None = None,
    on_day: Callable[[int], None] | None = None,
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
    on_day : callable, optional
        Called with each day index after it is simulated (progress bars).

    Returns
    -------
    Results
    """
    if isinstance(scenario, Scenario):
        if overrides:
            raise ScenarioError([("overrides", None, "overrides apply to a scenario file; pass its path")])
        sc = scenario
    else:
        sc = load_scenario(scenario, overrides)
    net = network if network is not None else load_network()
    timeline = compile_timeline(sc, net)
    k = choose_scale(timeline, agents, scale)

    start = time.perf_counter()
    results, sim = run_engine(timeline, k, seed, on_day=on_day)
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
            "wall_seconds": wall,
            "agent_steps": sim.agent_steps,
            "agent_steps_per_second": sim.agent_steps / wall if wall > 0 else float("nan"),
            "population_bytes": sim.pop.nbytes,
            "peak_rss_bytes": _peak_rss_bytes(),
        }
    )
    return results


def _versions() -> dict[str, str]:
    from corridor import __version__

    return {
        "corridor": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
    }


def write_run(results: Results, out: str | Path, options: Mapping[str, Any] | None = None) -> Path:
    """Write ``daily.parquet`` and ``run.json`` into ``out``, atomically.

    Both files are written into a temporary folder next to ``out``, which then replaces
    ``out`` in one rename: an interrupted run leaves the previous output (or none), never
    a half-written one.

    Returns
    -------
    Path
        The output folder.
    """
    target = Path(out).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output should not be
    try:
        table = pa.Table.from_pandas(results.to_frame(), preserve_index=False)
        pq.write_table(table, tmp / "daily.parquet", compression="zstd")
        meta = {
            "versions": _versions(),
            **results.info,
            "options": dict(options or {}),
            "identity_check": results.identity_check(),
            "outputs": {"daily.parquet": {"rows": table.num_rows, "columns": table.column_names}},
        }
        (tmp / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
