"""The day loop: a fixed sequence of vectorised phases over the population arrays.

    arrivals -> policy -> caravans -> decide -> move (with interdiction and hazards)
    -> raids -> detention -> asylum -> visas -> border -> record

Each phase is a function ``phase(sim, day)`` in :mod:`corridor.engine.phases`; it selects
the agents it concerns with a mask, updates their arrays and counts what happened in the
:class:`~corridor.metrics.Recorder`. There is no per-agent Python loop. All randomness
comes from ``sim.rng``, one seeded ``numpy.random.Generator`` per run.

The state of a run lives in :mod:`corridor.engine.state`, which imports no phase; this
module imports the state and the phases, so there is no import cycle between them.
:class:`Simulation` is re-exported here for the callers that import it from the loop.
"""

from __future__ import annotations

from collections.abc import Callable

from corridor.engine.phases import PHASES
from corridor.engine.state import Caravan, Caught, Simulation
from corridor.metrics import Results
from corridor.timeline import Timeline

__all__ = ["Caravan", "Caught", "Simulation", "run_engine", "step"]


def step(sim: Simulation, day: int) -> None:
    """Simulate day ``day``: policy, every phase in order, record."""
    sim.set_policy(day)
    for phase in PHASES:
        phase(sim, day)
    sim.record(day)


def run_engine(
    timeline: Timeline,
    scale: float,
    seed: int,
    on_day: Callable[[int], None] | None = None,
) -> tuple[Results, Simulation]:
    """Simulate every day of ``timeline``; returns the results and the final simulation state."""
    sim = Simulation.create(timeline, scale, seed)
    for day in range(timeline.n_days):
        step(sim, day)
        if on_day is not None:
            on_day(day)
    return sim.results(), sim
