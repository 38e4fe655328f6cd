"""Decisions of free people waiting at a place: give up, stay, or set off again."""

from __future__ import annotations

import numpy as np

from corridor.engine.population import State, has_papers
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.routing import choice_row, choose_links_at
from corridor.engine.state import Simulation


def give_up(sim: Simulation, rows: np.ndarray, day: int) -> np.ndarray:
    """Let some of ``rows`` give up (settle in Mexico or return home); returns those who stay."""
    pop, b = sim.pop, sim.timeline.scenario.behaviour
    p = b.give_up_probability_per_day * (1.0 + b.give_up_growth_per_attempt * pop.attempts[rows])
    quit_ = group_uniform(pop.group[rows], new_key(sim.rng)) < p
    settle_key = new_key(sim.rng)  # drawn even when no one gives up: later draws follow it
    if not quit_.any():
        return rows
    leaving = rows[quit_]
    settle = group_uniform(pop.group[leaving], settle_key) < b.settle_share
    sim.leave(leaving[settle], "settled", day, may_return=False)
    sim.leave(leaving[~settle], "returned_home", day, may_return=False)
    return rows[~quit_]


def start_on_links(
    sim: Simulation,
    rows: np.ndarray,
    day: int,
    *,
    row: np.ndarray | None = None,
    place: np.ndarray | None = None,
    group: np.ndarray | None = None,
) -> np.ndarray:
    """Start ``rows`` on their chosen next link; returns, per row, whether it found a way on.

    ``row`` (:func:`~corridor.engine.routing.choice_row`), ``place`` and ``group`` may be
    given when the caller holds them already (the move phase); else they are looked up.
    The route key is drawn even for no one, as it always has been: later draws follow it.
    """
    pop = sim.pop
    assert sim.routes is not None
    key = new_key(sim.rng)
    if rows.size == 0:
        return np.zeros(0, dtype=bool)
    if place is None:
        place = pop.place[rows]
    if row is None:
        row = choice_row(
            sim.routes, pop.destination[rows], pop.bus_access[rows] | has_papers(pop, rows, day), place
        )
    link = choose_links_at(
        sim.routes, row, place, group_uniform(pop.group[rows] if group is None else group, key)
    )
    found = link >= 0
    going = rows[found]
    pop.link[going] = link[found]
    pop.progress_km[going] = 0.0
    sim.to_state(going, State.IN_TRANSIT, day)
    return found


def set_off(sim: Simulation, rows: np.ndarray, day: int) -> np.ndarray:
    """Start ``rows`` on their chosen next link; returns the rows that found a way on."""
    return rows[start_on_links(sim, rows, day)]


def queuing_for_visa(sim: Simulation, rows: np.ndarray, day: int) -> np.ndarray:
    """Whether each of ``rows`` (free, waiting) stays to queue for a humanitarian visa."""
    pop = sim.pop
    assert sim.policy is not None
    visas = sim.policy.policy.visas
    if not visas.issuing:
        return np.zeros(rows.size, dtype=bool)
    wants = (
        group_uniform(pop.group[rows], sim.intent_keys["visa"])
        < sim.policy.visa_uptake[pop.nationality[rows]]
    )
    return wants & sim.policy.visa_place[pop.place[rows]] & ~has_papers(pop, rows, day)


def decide(sim: Simulation, day: int) -> None:
    """Waiting people give up, or (after resting) set off with the daily move-on chance.

    Caravan members follow their caravan; people at their own northern border city are
    left to the border phase; people queuing for a visa stay. Compiled where
    :mod:`corridor.engine.kernels` runs (:func:`corridor.engine.kernels.decide_day`).
    """
    if sim.kernels is None:
        _decide_numpy(sim, day, sim.free_rows(State.WAITING))
        return
    k, t, policy, inputs = sim.kernels, sim.timeline, sim.policy, sim.kernel_inputs
    assert policy is not None
    b, visas = t.scenario.behaviour, policy.policy.visas
    k.decide_day(
        inputs["rng"], day, sim.active, sim.in_caravans(), inputs["pop"], inputs["routes"], inputs["net"],
        b.give_up_probability_per_day, b.give_up_growth_per_attempt, b.settle_share,
        b.rest_days_after_arrival, b.move_on_probability_per_day,
        visas.issuing, sim.intent_keys["visa"],
        policy.visa_uptake, policy.visa_place, k.today_of(sim.recorder, day), inputs["codes"],
    )  # fmt: skip


def _decide_numpy(sim: Simulation, day: int, rows: np.ndarray) -> None:
    """:func:`decide` for the free people waiting, ``rows``: the NumPy reference."""
    pop, t = sim.pop, sim.timeline
    b = t.scenario.behaviour
    rows = give_up(sim, rows, day)
    at_goal = pop.place[rows] == t.destinations[pop.destination[rows]]
    rows = rows[~at_goal]
    if sim.policy is not None and sim.policy.policy.visas.window_open:
        rows = rows[~queuing_for_visa(sim, rows, day)]
    # next_day is past for every waiting person except those bused south and still resting.
    rested = ((day - pop.since[rows]) >= b.rest_days_after_arrival) & (pop.next_day[rows] <= day)
    rows = rows[rested]
    moving = group_uniform(pop.group[rows], new_key(sim.rng)) < b.move_on_probability_per_day
    set_off(sim, rows[moving], day)
