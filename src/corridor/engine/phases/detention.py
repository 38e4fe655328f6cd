"""Detention: outcomes for people held, then admission of the day's caught.

Outcomes: each day a detained person leaves with probability ``1 - exp(-1/mean stay)``;
they are bused back south (``bus_south_share``), else deported (their nationality's
``deportation_share`` of the rest), else released with an exit order where they were held.
A bus-south share of 1 therefore means no deportations at all.

Admission and the stated overflow rule: the caught are taken to the open facility nearest
by road or rail to where they were caught. A facility holds at most
``detention_overflow_max_ratio * capacity`` persons; the caught beyond that are released on
the spot with an exit order and counted as ``detention_overflow_released``. When an event
cuts a station's capacity, the people held beyond the new limit are released with an exit
order (counted in ``released``). Held people
above capacity (but within the ratio) are the overcrowding the ``detained`` and
``detention_capacity`` metrics show.
"""

from __future__ import annotations

import numpy as np

from corridor.engine.population import State, count_attempt
from corridor.engine.queues import admit, daily_capacity
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.state import Simulation


def detention_outcomes(sim: Simulation, day: int) -> None:
    """Deport, bus south or release some of those held."""
    pop = sim.pop
    policy = sim.policy
    assert policy is not None
    rows = sim.rows(State.DETAINED)
    out = rows[group_uniform(pop.group[rows], new_key(sim.rng)) < policy.detention_exit_probability]
    np.subtract.at(sim.occupancy, pop.facility[out], 1)
    pop.facility[out] = -1

    bus = group_uniform(pop.group[out], new_key(sim.rng)) < policy.bus_south_share
    bused, rest = out[bus], out[~bus]
    deport = (
        group_uniform(pop.group[rest], new_key(sim.rng)) < policy.deportation_share[pop.nationality[rest]]
    )
    sim.leave(rest[deport], "deportations", day, may_return=True)
    released = rest[~deport]

    sim.recorder.add(day, "bused_south", pop.place[bused], pop.nationality[bused])
    u = group_uniform(pop.group[bused], new_key(sim.rng))
    pop.place[bused] = policy.bus_south_place[np.searchsorted(policy.bus_south_cdf, u, side="right")]
    sim.recorder.add(day, "released", pop.place[released], pop.nationality[released])
    both = np.concatenate([bused, released])
    count_attempt(sim.pop, both)
    sim.to_state(both, State.WAITING, day)


def release_excess(sim: Simulation, day: int) -> None:
    """When capacity is cut, stations release whoever is held beyond the overflow rule (as ``released``)."""
    pop, policy = sim.pop, sim.policy
    assert policy is not None
    ceiling = np.ceil(policy.detention_overflow_max_ratio * policy.detention_capacity_persons / sim.scale)
    excess = sim.occupancy - ceiling.astype(np.int64)
    if not (excess > 0).any():
        return
    held = sim.rows(State.DETAINED)
    for fac in np.flatnonzero(excess > 0):
        here = np.sort(held[pop.facility[held] == fac])
        out = sim.rng.choice(here, size=int(excess[fac]), replace=False)
        sim.occupancy[fac] -= out.size
        pop.facility[out] = -1
        sim.recorder.add(day, "released", pop.place[out], pop.nationality[out])
        count_attempt(pop, out)
        sim.to_state(out, State.WAITING, day)


def admit_caught(sim: Simulation, day: int) -> None:
    """Take the day's caught to the nearest open facility, within the overflow rule."""
    pop = sim.pop
    policy, routes = sim.policy, sim.routes
    assert policy is not None and routes is not None
    caught = sim.caught.take()
    sim.recorder.add(day, "interdictions", pop.place[caught], pop.nationality[caught])
    facility = routes.nearest_facility[pop.place[caught]].astype(np.intp)

    # Room per facility (agents), then admit in random order within each facility.
    # Limits in agents are rounded at random (unbiased), so small stations still hold
    # people when one agent stands for many persons.
    limit = daily_capacity(
        policy.detention_overflow_max_ratio * policy.detention_capacity_persons, sim.scale, sim.rng
    )
    room = np.maximum(limit - sim.occupancy, 0)
    line = admit(room, server=facility, rng=sim.rng)  # places without a facility: none
    held, turned_away = line.take(caught)
    fac = line.server[line.served]
    pop.facility[held] = fac
    pop.place[held] = sim.timeline.network.detention_place[fac]
    np.add.at(sim.occupancy, fac, 1)
    sim.to_state(held, State.DETAINED, day)
    sim.recorder.add(day, "detentions", pop.place[held], pop.nationality[held])

    sim.recorder.add(day, "detention_overflow_released", pop.place[turned_away], pop.nationality[turned_away])
    count_attempt(sim.pop, turned_away)
    sim.to_state(turned_away, State.WAITING, day)


def detention(sim: Simulation, day: int) -> None:
    """Detention phase: outcomes first (so today's admissions stay at least a night), then admission."""
    detention_outcomes(sim, day)
    release_excess(sim, day)
    admit_caught(sim, day)
