"""The phases of a day, in order. Each is ``phase(sim, day) -> None``.

The policy phase (bringing in the day's policy and route tables) runs before these in
:func:`corridor.engine.core.run_engine`, and the record phase after them.
"""

from __future__ import annotations

from collections.abc import Callable

from corridor.engine.phases.arrivals import arrivals
from corridor.engine.phases.asylum import asylum
from corridor.engine.phases.border import border
from corridor.engine.phases.caravans import caravans
from corridor.engine.phases.decide import decide
from corridor.engine.phases.detention import detention
from corridor.engine.phases.move import move, raids
from corridor.engine.phases.visas import visas
from corridor.engine.state import Simulation

__all__ = ["PHASES"]

PHASES: tuple[Callable[[Simulation, int], None], ...] = (
    arrivals,
    caravans,
    decide,
    move,
    raids,
    detention,
    asylum,
    visas,
    border,
)
