"""Humanitarian visitor cards: a window with a national daily issuing capacity.

While the window is open, a share of the people at an issuing place (``uptake``, a lasting
intention drawn once per group) stay there and queue; after ``processing_days`` at the place
they can be issued a card, longest waiting first, up to ``issued_per_day``. Holders travel by
bus and are not detained while the card is valid (``validity_days``).
"""

from __future__ import annotations

import numpy as np

from corridor.engine.phases.decide import queuing_for_visa
from corridor.engine.population import State
from corridor.engine.queues import admit, daily_capacity
from corridor.engine.state import Simulation


def visas(sim: Simulation, day: int) -> None:
    """Issue the day's cards."""
    pop = sim.pop
    assert sim.policy is not None
    vp = sim.policy.policy.visas
    if not vp.issuing:
        return
    rows = sim.free_rows(State.WAITING)
    rows = rows[queuing_for_visa(sim, rows, day)]
    rows = rows[day - pop.since[rows] >= vp.processing_days]
    n = int(daily_capacity(vp.issued_per_day, sim.scale, sim.rng))
    issued, _ = admit(n, by=(pop.since[rows], rows)).take(rows)
    pop.papers_until[issued] = min(day + vp.validity_days, np.iinfo(np.int16).max)
    sim.recorder.add(day, "visas_issued", pop.place[issued], pop.nationality[issued])
