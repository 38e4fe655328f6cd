"""Movement along links at mode speed, with interdiction at checkpoints and death on the way;
and raids on people waiting in Mexico.

A traveller's day is a budget of time. On a link of mode m they cover
``speed[m] * (time left)`` km; reaching a place with time left they may go straight on
(``continue_probability``), possibly by another mode, for up to ``MAX_HOPS`` links a day.
Over each stretch of ``km`` the checkpoint hazard ``h`` of the link gives
``P(caught) = 1 - exp(-h km)`` and the death hazard likewise. Groups are caught together;
deaths strike persons.
"""

from __future__ import annotations

import numpy as np

from corridor.engine.phases.decide import set_off
from corridor.engine.population import State, has_papers
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.state import Simulation
from corridor.geography import TRAVEL_MODES

#: Most links one traveller can finish in a day.
MAX_HOPS = 6
_EPS_KM = 1e-3


def move(sim: Simulation, day: int) -> None:
    """Advance everyone in transit by one day."""
    pop, t = sim.pop, sim.timeline
    net = t.network
    assert sim.policy is not None
    b = t.scenario.behaviour
    rows = sim.rows(State.IN_TRANSIT)
    rows = rows[pop.caravan[rows] < 0]
    time_left = np.ones(rows.size)
    speed_of_link = t.speed_km_per_day[net.link_mode]
    distance = net.link_distance_km.astype(np.float64)
    for _ in range(MAX_HOPS):
        if rows.size == 0:
            break
        link = pop.link[rows].astype(np.intp)
        speed = speed_of_link[link]
        progress = pop.progress_km[rows] + 0.0
        km = np.minimum(time_left * speed, distance[link] - progress)
        pop.progress_km[rows] = progress + km

        # Deaths and catches are rare: pick them out by index, leave the bulk alone.
        dies = sim.rng.random(rows.size) < -np.expm1(-t.link_death_hazard_per_km[link] * km)
        hazard = sim.policy.link_interdiction_hazard_per_km[link] * km * t.interdiction_factor[pop.nationality[rows]]
        caught = group_uniform(pop.group[rows], new_key(sim.rng)) < -np.expm1(-hazard)
        caught &= ~dies
        hit = np.flatnonzero(caught)
        caught[hit[has_papers(pop, rows[hit], day)]] = False
        dead = np.flatnonzero(dies)
        sim.recorder.add_links(day, "deaths", link[dead])
        record_deaths(sim, rows[dead], net.link_mode[link[dead]], day)
        # Caught on the way: counted at the place last left; the detention phase takes them.
        sim.catch(rows[caught], day)

        arrived = np.flatnonzero(~dies & ~caught & (progress + km >= distance[link] - _EPS_KM))
        time_left = time_left[arrived] - km[arrived] / speed[arrived]
        rows, link = rows[arrived], link[arrived]
        record_trips(sim, rows, link, day)
        pop.place[rows] = net.link_to[link]
        pop.link[rows] = -1
        pop.progress_km[rows] = 0.0
        sim.to_state(rows, State.WAITING, day)

        # Who goes straight on: not at their goal, with time left, by choice.
        at_goal = pop.place[rows] == t.destinations[pop.destination[rows]]
        u = group_uniform(pop.group[rows], new_key(sim.rng))
        on = ~at_goal & (time_left > 1e-6) & (u < b.continue_probability)
        going = set_off(sim, rows[on], day)
        keep = np.isin(rows, going, assume_unique=True)
        rows, time_left = rows[keep], time_left[keep]


def record_trips(sim: Simulation, rows: np.ndarray, link: np.ndarray, day: int) -> None:
    """Count ``rows`` as having finished ``link`` (one each): by route, and by travel mode at
    the place left (``trips_<mode>``)."""
    net = sim.timeline.network
    sim.recorder.add_links(day, "trips", link)
    mode = net.link_mode[link]
    for m, name in enumerate(TRAVEL_MODES):
        hit = mode == m
        sim.recorder.add(day, f"trips_{name}", net.link_from[link[hit]], sim.pop.nationality[rows[hit]])


def record_deaths(sim: Simulation, rows: np.ndarray, mode: np.ndarray | str, day: int) -> None:
    """Count deaths of ``rows`` (by travel mode index, or a mode name such as 'river') and take them out."""
    pop = sim.pop
    if isinstance(mode, str):
        sim.recorder.add(day, f"deaths_{mode}", pop.place[rows], pop.nationality[rows])
    else:
        for m, name in enumerate(TRAVEL_MODES):
            hit = rows[mode == m]
            sim.recorder.add(day, f"deaths_{name}", pop.place[hit], pop.nationality[hit])
    sim.leave(rows, "deaths", day, may_return=False)


def raids(sim: Simulation, day: int) -> None:
    """Raids catch free people waiting in Mexico (hotels, shelters, streets).

    People with papers are not caught; caravan members face the caravan factor.
    """
    pop = sim.pop
    assert sim.policy is not None
    rows = sim.rows(State.WAITING)  # people caught on the road today are CAUGHT, not waiting
    rows = rows[~has_papers(pop, rows, day)]
    p = sim.policy.raid_probability[pop.place[rows]] * sim.timeline.interdiction_factor[pop.nationality[rows]]
    p = np.where(pop.caravan[rows] >= 0, p * sim.policy.policy.caravans.interdiction_factor, p)
    hit = group_uniform(pop.group[rows], new_key(sim.rng)) < p
    sim.catch(rows[hit], day)
