"""The peer benchmark: Flee's rules on a Flee network, timed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from corridor.errors import FleeInputError
from corridor.flee.kernel import FleeRules, run_flee_movement
from corridor.flee.network import load_flee_network
from corridor.provenance import machine, peak_rss_bytes, versions

# --------------------------------------------------------------------------- benchmark


def bench_flee_network(
    directory: str | Path,
    n_agents: int,
    days: int | None = None,
    seed: int = 0,
    capacities_for: int | None = None,
    on_day: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run Flee's movement rules on a Flee network with corridor's kernel; return the bench record.

    Parameters
    ----------
    directory : path
        The Flee input folder.
    n_agents : int
        People placed at the day-0 conflict zones (one agent each).
    days : int, optional
        Days to simulate (default: ``Length`` of sim_period.csv).
    seed : int
    capacities_for : int, optional
        The agent count the camp capacities of locations.csv are meant for; they are scaled by
        ``n_agents / capacities_for`` (the shared corridor network: 10,000). Default: as written.
    on_day : callable, optional
        Called with each day index after it is simulated.

    Returns
    -------
    dict
        One JSON-able record: machine, versions, sizes, wall seconds, agent-steps per second,
        peak memory, and the outcome (shares of people per camp, in towns and in transit).
    """

    fnet = load_flee_network(directory)
    if days is None:
        if fnet.length_days is None:
            raise FleeInputError(f"{fnet.source}: no sim_period.csv Length; give the number of days")
        days = fnet.length_days
    if n_agents < 1:
        raise FleeInputError(f"agents must be >= 1 (got {n_agents})")
    if days < 0:
        raise FleeInputError(f"days must be >= 0 (got {days})")
    capacity = fnet.capacity.copy()
    if capacities_for is not None:
        if capacities_for < 1:
            raise FleeInputError(f"capacities_for must be >= 1 (got {capacities_for})")
        capacity = np.where(capacity > 0, capacity * n_agents // capacities_for, capacity)

    result = run_flee_movement(
        fnet, n_agents, days, seed=seed, rules=FleeRules(), capacity=capacity, on_day=on_day
    )
    n = float(n_agents)
    counts = result.final_counts
    camps = fnet.camps
    cap_out = {fnet.names[i]: int(result.capacity[i]) for i in camps}
    return {
        "bench": "flee-network",
        "engine": "corridor",
        "machine": machine(),
        "versions": versions(),
        "input": str(fnet.source),
        "locations": fnet.network.n_places,
        "routes": int(fnet.network.route_from.size),
        "n_agents": n_agents,
        "days": days,
        "seed": seed,
        "camp_capacity": cap_out,
        "setup_seconds": result.setup_seconds,
        "wall_seconds": result.wall_seconds,
        "agent_steps": result.agent_steps,
        "agent_steps_per_s": result.agent_steps / result.wall_seconds if result.wall_seconds > 0 else None,
        "peak_rss_bytes": peak_rss_bytes(),
        "population_bytes": result.population_bytes,
        "outcome": {
            "camp_share": {fnet.names[i]: float(counts[i]) / n for i in camps},
            "in_camps_share": float(counts[camps].sum()) / n,
            "in_transit_share": result.final_in_transit / n,
            "elsewhere_share": 1.0 - (float(counts[camps].sum()) + result.final_in_transit) / n,
            "place_counts": {name: int(counts[i]) for i, name in enumerate(fnet.names)},
            "camp_peak_occupancy": {fnet.names[i]: int(result.peak_occupancy[i]) for i in camps},
        },
    }
