"""Caravans: thousands walking together for protection, and the Guard's dispersal operations.

A caravan forms on a scheduled date (``caravans:`` in the scenario), or by itself when the
free and pending people piled up at a formation place pass a threshold. Members are
recruited from the free people and asylum applicants at the place (applicants who join
abandon their claim). The caravan walks at ``policy.caravans.speed_km_per_day`` toward its
target by the shortest open foot route, one place a night; all members share its place,
link and progress. While the group holds, each member's checkpoint hazard is multiplied by
``interdiction_factor``; those caught leave the group. Each day on the move the Guard
breaks it up with ``dispersal_probability_per_day``: ``dispersal_detention_share`` of the
members are detained, the rest scatter and travel on their own. At its target the caravan
disbands.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra

from corridor.engine.phases.move import record_deaths, record_trips
from corridor.engine.population import State, stochastic_round
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.state import Caravan, Simulation
from corridor.geography import TRAVEL_MODES

_FOOT = TRAVEL_MODES.index("foot")


def _next_links(sim: Simulation, target: int) -> np.ndarray:
    """Per place, the open foot link on the shortest way to ``target`` (-1: none or there)."""
    net = sim.timeline.network
    assert sim.policy is not None
    foot = (net.link_mode == _FOOT) & sim.policy.link_open
    km = np.full((net.n_places, net.n_places), np.inf)
    np.minimum.at(km, (net.link_to[foot], net.link_from[foot]), net.link_distance_km[foot])
    togo = dijkstra(csgraph_from_dense(km, null_value=np.inf), indices=target)
    via = np.where(foot, net.link_distance_km + togo[net.link_to], np.inf)
    best = np.full(net.n_places, -1)
    order = np.lexsort((via, net.link_from))
    first = np.r_[True, net.link_from[order][1:] != net.link_from[order][:-1]]
    cand = order[first]
    ok = np.isfinite(via[cand]) & (togo[net.link_from[cand]] > 0)
    best[net.link_from[cand[ok]]] = cand[ok]
    return best


def _recruit(sim: Simulation, day: int, place: int, k: int, target: int, name: str) -> None:
    pop = sim.pop
    pool = sim.rows(State.WAITING, State.ASYLUM_PENDING)
    pool = np.sort(pool[(pop.place[pool] == place) & (pop.caravan[pool] < 0)])
    if pool.size == 0 or k <= 0:
        return
    chosen = pool if pool.size <= k else np.sort(sim.rng.choice(pool, size=k, replace=False))
    pending = chosen[pop.state[chosen] == State.ASYLUM_PENDING]
    sim.recorder.add(day, "asylum_abandoned", pop.place[pending], pop.nationality[pending])
    pop.office[pending] = -1
    sim.caravans.append(Caravan(name=name, place=place, target=target))
    pop.caravan[chosen] = len(sim.caravans) - 1
    sim.to_state(chosen, State.WAITING, day)
    sim.recorder.add(day, "caravan_joined", pop.place[chosen], pop.nationality[chosen])
    sim.caravan_formed_day[place] = day


def form(sim: Simulation, day: int) -> None:
    """Scheduled caravans of the day, and caravans forming where people pile up."""
    t, pop = sim.timeline, sim.pop
    assert sim.policy is not None
    for sc in t.caravans:
        if sc.day == day:
            _recruit(
                sim,
                day,
                sc.place,
                int(stochastic_round(np.array(sc.size_persons / sim.scale), sim.rng)),
                sc.target,
                sc.name,
            )
    cp = sim.policy.policy.caravans
    if cp.formation_threshold_persons is None or not sim.policy.caravan_formation_place.any():
        return
    rows = sim.rows(State.WAITING, State.ASYLUM_PENDING)
    rows = rows[pop.caravan[rows] < 0]
    piled = np.bincount(pop.place[rows], minlength=t.network.n_places) * sim.scale
    for place in np.flatnonzero(
        sim.policy.caravan_formation_place & (piled >= cp.formation_threshold_persons)
    ):
        last = sim.caravan_formed_day.get(int(place))
        if last is not None and day - last < cp.formation_cooldown_days:
            continue
        k = int(stochastic_round(np.array(piled[place] * cp.formation_share / sim.scale), sim.rng))
        _recruit(
            sim, day, int(place), k, sim.policy.caravan_target, f"{t.network.place_names[place]} day {day}"
        )


def _disband(sim: Simulation, caravan: Caravan, members: np.ndarray, day: int) -> None:
    pop = sim.pop
    caravan.active = False
    pop.caravan[members] = -1
    pop.link[members] = -1
    pop.progress_km[members] = 0.0
    pop.place[members] = caravan.place
    sim.to_state(members, State.WAITING, day)


def _walk(sim: Simulation, cid: int, caravan: Caravan, members: np.ndarray, day: int) -> None:
    """One day's march: at most to the next place, where the caravan spends the night."""
    pop, net = sim.pop, sim.timeline.network
    assert sim.policy is not None
    cp = sim.policy.policy.caravans
    if caravan.link < 0:
        if caravan.place == caravan.target:
            _disband(sim, caravan, members, day)
            return
        caravan.link = int(_next_links(sim, caravan.target)[caravan.place])
        caravan.progress_km = 0.0
        if caravan.link < 0:  # no open way on: it breaks up where it is
            _disband(sim, caravan, members, day)
            return
    link = caravan.link
    km = min(cp.speed_km_per_day, float(net.link_distance_km[link]) - caravan.progress_km)
    dies = sim.rng.random(members.size) < -np.expm1(-sim.timeline.link_death_hazard_per_km[link] * km)
    sim.recorder.add_links(day, "deaths", np.full(int(dies.sum()), link))
    record_deaths(sim, members[dies], "foot", day)
    members = members[~dies]
    hazard = sim.policy.link_interdiction_hazard_per_km[link] * cp.interdiction_factor
    caught = group_uniform(pop.group[members], new_key(sim.rng)) < -np.expm1(-hazard * km)
    sim.catch(members[caught], day)
    members = members[~caught]

    caravan.progress_km += km
    if caravan.progress_km >= float(net.link_distance_km[link]) - 1e-3:
        caravan.place, caravan.link, caravan.progress_km = int(net.link_to[link]), -1, 0.0
        record_trips(sim, members, np.full(members.size, link), day)
    pop.place[members] = caravan.place if caravan.link < 0 else int(net.link_from[link])
    pop.link[members] = caravan.link
    pop.progress_km[members] = caravan.progress_km
    sim.to_state(members, State.IN_TRANSIT if caravan.link >= 0 else State.WAITING, day)


def caravans(sim: Simulation, day: int) -> None:
    """Caravan phase: formation, dispersal operations, and the day's march."""
    form(sim, day)
    if not any(c.active for c in sim.caravans):
        return
    pop = sim.pop
    assert sim.policy is not None
    cp = sim.policy.policy.caravans
    rows = sim.rows(State.WAITING, State.IN_TRANSIT)
    rows = rows[pop.caravan[rows] >= 0]
    order = np.argsort(pop.caravan[rows], kind="stable")
    rows = rows[order]
    ids, starts = np.unique(pop.caravan[rows], return_index=True)
    bounds = np.r_[starts, rows.size]
    by_id = {int(c): rows[bounds[i] : bounds[i + 1]] for i, c in enumerate(ids)}
    for cid, caravan in enumerate(sim.caravans):
        if not caravan.active:
            continue
        members = by_id.get(cid, np.empty(0, dtype=np.intp))
        if members.size == 0:
            caravan.active = False
            continue
        if sim.rng.random() < cp.dispersal_probability_per_day:
            sim.recorder.add(day, "caravan_dispersed", pop.place[members], pop.nationality[members])
            detained = members[sim.rng.random(members.size) < cp.dispersal_detention_share]
            _disband(sim, caravan, members, day)  # on the road: at the place last left
            sim.catch(detained, day)
            continue
        _walk(sim, cid, caravan, members, day)
