"""Arrivals: first entries of the day, and re-entries of people deported or removed earlier."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from corridor.engine.population import State

if TYPE_CHECKING:
    from corridor.engine.core import Simulation


def arrivals(sim: Simulation, day: int) -> None:
    """Put the day's entrants at their entry place, waiting."""
    pop = sim.pop
    first = np.arange(pop.arrival_offsets[day], pop.arrival_offsets[day + 1])
    again = np.flatnonzero((pop.state == State.AWAY) & (pop.next_day <= day))
    if again.size:
        # Re-entrants come in through their nationality's entry places.
        cdf = sim.timeline.entry_cdf[pop.nationality[again]]
        u = sim.rng.random(again.size)
        pop.place[again] = (u[:, None] >= cdf).sum(axis=1).astype(np.int16)
    rows = np.concatenate([first, again])
    sim.to_state(rows, State.WAITING, day)
    sim.recorder.add(day, "arrivals", pop.place[rows], pop.nationality[rows])
