"""The US border: crossings between ports from northern border cities, and their outcomes.

People waiting at their own northern border city cross with a daily probability. A
crossing ends in a Border Patrol encounter with ``us_apprehension_probability``; the
others evade (exit ``us_evaded``). Encounters end, by nationality's shares, in release
into the US (exit), removal to the country of origin (exit, possible re-entry later) or
return to Mexico, where the person stays at the border city (their attempts grow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from corridor.engine.population import State, count_attempt
from corridor.engine.randomness import group_uniform, new_key
from corridor.timeline import US_OUTCOMES

if TYPE_CHECKING:
    from corridor.engine.core import Simulation

_RELEASED, _REMOVED, _RETURNED = (US_OUTCOMES.index(o) for o in ("released", "removed", "returned_to_mexico"))


def border(sim: Simulation, day: int) -> None:
    """Crossing attempts and US encounter outcomes for the day."""
    pop, t = sim.pop, sim.timeline
    policy = sim.policy
    assert policy is not None
    rows = np.flatnonzero(pop.state == State.WAITING)
    rows = rows[pop.place[rows] == t.destinations[pop.destination[rows]]]
    # People who stopped here today rest first.
    rows = rows[pop.since[rows] < day]
    p_cross = t.scenario.behaviour.border_crossing_probability_per_day
    crossing = rows[group_uniform(pop.group[rows], new_key(sim.rng)) < p_cross]

    met = group_uniform(pop.group[crossing], new_key(sim.rng)) < policy.us_apprehension_probability
    sim.leave(crossing[~met], "us_evaded", day, may_return=False)
    encountered = crossing[met]
    sim.recorder.add(day, "us_encounters", pop.place[encountered], pop.nationality[encountered])

    u = group_uniform(pop.group[encountered], new_key(sim.rng))
    outcome = (u[:, None] >= policy.us_outcome_cdf[pop.nationality[encountered]]).sum(axis=1)
    outcome = np.minimum(outcome, len(US_OUTCOMES) - 1)
    sim.leave(encountered[outcome == _RELEASED], "us_released", day, may_return=False)
    sim.leave(encountered[outcome == _REMOVED], "us_removed", day, may_return=True)
    back = encountered[outcome == _RETURNED]
    sim.recorder.add(day, "us_returned_to_mexico", pop.place[back], pop.nationality[back])
    count_attempt(pop, back)
    sim.to_state(back, State.WAITING, day)
