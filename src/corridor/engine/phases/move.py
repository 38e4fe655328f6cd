"""Movement along links at mode speed, with interdiction at checkpoints and death on the way;
and raids on people waiting in Mexico.

A traveller's day is a budget of time. On a link of mode m they cover
``speed[m] * (time left)`` km; reaching a place with time left they may go straight on
(``continue_probability``), possibly by another mode, for up to ``MAX_HOPS`` links a day.
Over each stretch of ``km`` the checkpoint hazard ``h`` of the link gives
``P(caught) = 1 - exp(-h km)`` and the death hazard likewise. Groups are caught together;
deaths strike persons.

This is the busiest phase (up to ``MAX_HOPS`` rounds a day, most on a few dozen agents), so
it is written for few NumPy calls: per-link numbers come in one gather from the day's
:class:`~corridor.engine.state.LinkTables`, the travellers' fixed attributes are gathered
once and then narrowed with them, and rare events (deaths, catches) are handled only when
they happen. The draws are the same, in the same order, as the plain version.
"""

from __future__ import annotations

import numpy as np

from corridor.engine.phases.decide import start_on_links
from corridor.engine.population import State, has_papers
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.routing import choice_row
from corridor.engine.state import Simulation
from corridor.metrics import flows_by_travel_mode

#: Most links one traveller can finish in a day.
MAX_HOPS = 6
_EPS_KM = 1e-3
#: Flow index of ``trips_<mode>`` and ``deaths_<mode>`` per travel mode index.
_TRIPS_BY_MODE = flows_by_travel_mode("trips")
_DEATHS_BY_MODE = flows_by_travel_mode("deaths")


def move(sim: Simulation, day: int) -> None:
    """Advance everyone in transit by one day (compiled where :mod:`corridor.engine.kernels` runs)."""
    if sim.kernels is not None:
        _move_compiled(sim, day)
    else:
        _move_numpy(sim, day, sim.free_rows(State.IN_TRANSIT))


def _move_compiled(sim: Simulation, day: int) -> None:
    """:func:`_move_numpy` as one compiled call (:func:`corridor.engine.kernels.move_day`)."""
    k, t, inputs = sim.kernels, sim.timeline, sim.kernel_inputs
    assert k is not None and sim.links is not None
    caught = k.move_day(
        inputs["rng"], day, sim.active, sim.in_caravans(), inputs["pop"], inputs["routes"], inputs["net"],
        sim.links.stacked, t.interdiction_factor, t.scenario.behaviour.continue_probability,
        MAX_HOPS, _EPS_KM, k.today_of(sim.recorder, day), inputs["codes"],
    )  # fmt: skip
    sim.caught.add(caught)


def _move_numpy(sim: Simulation, day: int, rows: np.ndarray) -> None:
    """Advance ``rows`` (everyone free in transit) by one day: the NumPy reference."""
    pop, t = sim.pop, sim.timeline
    net = t.network
    assert sim.policy is not None and sim.links is not None and sim.routes is not None
    b = t.scenario.behaviour
    time_left = np.ones(rows.size)
    # Fixed for the day (nobody gains papers on the road): gathered once, then narrowed
    # along with ``rows`` instead of gathered again at every hop.
    group = pop.group[rows]
    goal = t.destinations[pop.destination[rows]]
    exposure = t.interdiction_factor[pop.nationality[rows]]  # by nationality; 1 by default
    choice = choice_row(sim.routes, pop.destination[rows], pop.bus_access[rows] | has_papers(pop, rows, day))
    finished_rows, finished_links = [], []  # trips are counted once, after the last hop
    for _ in range(MAX_HOPS):
        if rows.size == 0:
            break
        link = pop.link[rows].astype(np.intp)
        speed, length, minus_death, minus_interdiction = np.take(sim.links.stacked, link, axis=1)
        progress = pop.progress_km[rows]
        km = np.minimum(time_left * speed, length - progress)
        done_km = progress + km
        pop.progress_km[rows] = done_km

        # Deaths and catches are rare: pick them out by index, leave the bulk alone.
        dies = sim.rng.random(rows.size) < -np.expm1(minus_death * km)
        caught = group_uniform(group, new_key(sim.rng)) < -np.expm1(minus_interdiction * km * exposure)
        if (dies | caught).any():
            caught &= ~dies
            hit = np.flatnonzero(caught)
            caught[hit[has_papers(pop, rows[hit], day)]] = False
            dead = np.flatnonzero(dies)
            if dead.size:
                sim.recorder.add_links(day, "deaths", link[dead])
                record_deaths(sim, rows[dead], net.link_mode[link[dead]], day)
            # Caught on the way: counted at the place last left; the detention phase takes them.
            sim.catch(rows[caught], day)
            arrived = np.flatnonzero(~(dies | caught) & (done_km >= length - _EPS_KM))
        else:
            arrived = np.flatnonzero(done_km >= length - _EPS_KM)
        time_left = time_left[arrived] - km[arrived] / speed[arrived]
        rows, link = rows[arrived], link[arrived]
        group, goal, choice, exposure = group[arrived], goal[arrived], choice[arrived], exposure[arrived]
        finished_rows.append(rows)
        finished_links.append(link)
        here = net.link_to[link]
        pop.place[rows] = here
        pop.link[rows] = -1
        pop.progress_km[rows] = 0.0
        sim.to_state(rows, State.WAITING, day)

        # Who goes straight on: not at their goal, with time left, by choice.
        u = group_uniform(group, new_key(sim.rng))
        on = np.flatnonzero((here != goal) & (time_left > 1e-6) & (u < b.continue_probability))
        here = here[on]
        found = start_on_links(sim, rows[on], day, row=choice[on] + here, place=here, group=group[on])
        keep = on[found]
        rows, time_left, group, goal = rows[keep], time_left[keep], group[keep], goal[keep]
        choice, exposure = choice[keep], exposure[keep]
    if finished_rows:
        record_trips(sim, np.concatenate(finished_rows), np.concatenate(finished_links), day)


def record_trips(sim: Simulation, rows: np.ndarray, link: np.ndarray, day: int) -> None:
    """Count ``rows`` as having finished ``link`` (one each): by route, and by travel mode at
    the place left (``trips_<mode>``)."""
    if rows.size == 0:
        return
    net = sim.timeline.network
    sim.recorder.add_links(day, "trips", link)
    sim.count_by_kind(
        day, _TRIPS_BY_MODE, net.link_mode[link], net.link_from[link], sim.pop.nationality[rows]
    )


def record_deaths(sim: Simulation, rows: np.ndarray, mode: np.ndarray | str, day: int) -> None:
    """Count deaths of ``rows`` (by travel mode index, or a mode name such as 'river') and take them out."""
    if rows.size == 0:
        return
    pop = sim.pop
    if isinstance(mode, str):
        sim.recorder.add(day, f"deaths_{mode}", pop.place[rows], pop.nationality[rows])
    else:
        sim.count_by_kind(day, _DEATHS_BY_MODE, mode, pop.place[rows], pop.nationality[rows])
    sim.leave(rows, "deaths", day, may_return=False)


def raids(sim: Simulation, day: int) -> None:
    """Raids catch free people waiting in Mexico (hotels, shelters, streets).

    People with papers are not caught; caravan members face the caravan factor.
    """
    pop = sim.pop
    assert sim.policy is not None
    if sim.kernels is not None:
        caught = sim.kernels.raids_day(
            sim.kernel_inputs["rng"], day, sim.active, sim.kernel_inputs["pop"], sim.policy.raid_probability,
            sim.timeline.interdiction_factor, sim.policy.policy.caravans.interdiction_factor,
            sim.in_caravans(),
        )  # fmt: skip
        sim.caught.add(caught)
        return
    rows = sim.rows(State.WAITING)  # people caught on the road today are CAUGHT, not waiting
    rows = rows[~has_papers(pop, rows, day)]
    p = sim.policy.raid_probability[pop.place[rows]] * sim.timeline.interdiction_factor[pop.nationality[rows]]
    if any(c.active for c in sim.caravans):  # else no one is in a caravan
        p = np.where(pop.caravan[rows] >= 0, p * sim.policy.policy.caravans.interdiction_factor, p)
    hit = group_uniform(pop.group[rows], new_key(sim.rng)) < p
    sim.catch(rows[hit], day)
