"""Decisions of free people waiting at a place: give up, stay, or set off again."""

from __future__ import annotations

import numpy as np

from corridor.engine.population import State, has_papers
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.routing import choose_links
from corridor.engine.state import Simulation


def give_up(sim: Simulation, rows: np.ndarray, day: int) -> np.ndarray:
    """Let some of ``rows`` give up (settle in Mexico or return home); returns those who stay."""
    pop, b = sim.pop, sim.timeline.scenario.behaviour
    p = b.give_up_probability_per_day * (1.0 + b.give_up_growth_per_attempt * pop.attempts[rows])
    quit_ = group_uniform(pop.group[rows], new_key(sim.rng)) < p
    leaving = rows[quit_]
    settle = group_uniform(pop.group[leaving], new_key(sim.rng)) < b.settle_share
    sim.leave(leaving[settle], "settled", day, may_return=False)
    sim.leave(leaving[~settle], "returned_home", day, may_return=False)
    return rows[~quit_]


def set_off(sim: Simulation, rows: np.ndarray, day: int) -> np.ndarray:
    """Start ``rows`` on their chosen next link; returns the rows that found a way on."""
    pop = sim.pop
    assert sim.routes is not None
    link = choose_links(
        sim.routes,
        pop.destination[rows],
        pop.bus_access[rows] | has_papers(pop, rows, day),
        pop.place[rows],
        group_uniform(pop.group[rows], new_key(sim.rng)),
    )
    going = rows[link >= 0]
    pop.link[going] = link[link >= 0]
    pop.progress_km[going] = 0.0
    sim.to_state(going, State.IN_TRANSIT, day)
    return going


def queuing_for_visa(sim: Simulation, rows: np.ndarray, day: int) -> np.ndarray:
    """Whether each of ``rows`` (free, waiting) stays to queue for a humanitarian visa."""
    pop = sim.pop
    assert sim.policy is not None
    visas = sim.policy.policy.visas
    if not visas.window_open or visas.issued_per_day <= 0:
        return np.zeros(rows.size, dtype=bool)
    wants = (
        group_uniform(pop.group[rows], sim.intent_keys["visa"])
        < sim.policy.visa_uptake[pop.nationality[rows]]
    )
    return wants & sim.policy.visa_place[pop.place[rows]] & ~has_papers(pop, rows, day)


def decide(sim: Simulation, day: int) -> None:
    """Waiting people give up, or (after resting) set off with the daily move-on chance.

    Caravan members follow their caravan; people at their own northern border city are
    left to the border phase; people queuing for a visa stay.
    """
    pop, t = sim.pop, sim.timeline
    b = t.scenario.behaviour
    rows = sim.rows(State.WAITING)
    rows = rows[pop.caravan[rows] < 0]
    rows = give_up(sim, rows, day)
    at_goal = pop.place[rows] == t.destinations[pop.destination[rows]]
    rows = rows[~at_goal]
    rows = rows[~queuing_for_visa(sim, rows, day)]
    # next_day is past for every waiting person except those bused south and still resting.
    rested = ((day - pop.since[rows]) >= b.rest_days_after_arrival) & (pop.next_day[rows] <= day)
    rows = rows[rested]
    moving = group_uniform(pop.group[rows], new_key(sim.rng)) < b.move_on_probability_per_day
    set_off(sim, rows[moving], day)
