"""Arrivals: first entries of the day, and re-entries of people deported or removed earlier."""

from __future__ import annotations

import numpy as np

from corridor.engine.population import State
from corridor.engine.state import IS_PRESENT, Simulation
from corridor.metrics import FLOWS


def arrivals(sim: Simulation, day: int) -> None:
    """Put the day's entrants at their entry place, waiting (compiled where
    :mod:`corridor.engine.kernels` runs: :func:`corridor.engine.kernels.arrivals_day`)."""
    pop = sim.pop
    if sim.kernels is not None:
        t, firsts = sim.timeline, (int(pop.arrival_offsets[day]), int(pop.arrival_offsets[day + 1]))
        sim.active, sim.away = sim.kernels.arrivals_day(
            sim.kernel_inputs["rng"], day, firsts, sim.away,
            sim.active, sim.kernel_inputs["pop"], t.entry_cdf[t.entry_month_of_day[day]], IS_PRESENT,
            FLOWS.index("arrivals"), sim.recorder.flows[day],
        )  # fmt: skip
        return
    first = np.arange(pop.arrival_offsets[day], pop.arrival_offsets[day + 1])
    away = sim.away[pop.state[sim.away] == State.AWAY]
    due = pop.next_day[away] <= day
    again, sim.away = away[due], away[~due]
    if again.size:
        # Re-entrants come in through their nationality's recent entry places.
        t = sim.timeline
        cdf = t.entry_cdf[t.entry_month_of_day[day], pop.nationality[again]]
        u = sim.rng.random(again.size)
        pop.place[again] = (u[:, None] >= cdf).sum(axis=1).astype(np.int16)
    rows = np.concatenate([first, again])
    sim.admit_rows(rows)  # before their state changes: re-entrants may still sit in the index
    sim.to_state(rows, State.WAITING, day)
    sim.recorder.add(day, "arrivals", pop.place[rows], pop.nationality[rows])
