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


def _bus_seats_today(sim: Simulation) -> int | None:
    """Seats on southbound buses today (agents), or None: unlimited."""
    assert sim.policy is not None
    seats = sim.policy.bus_south_seats_per_day
    if seats is None:
        return None
    return int(daily_capacity([seats], sim.scale, sim.rng)[0])


def _let_go_south(sim: Simulation, rows: np.ndarray, day: int) -> None:
    """Put ``rows`` (bused) down at a southern drop-off place, resting before they set out again."""
    pop, policy = sim.pop, sim.policy
    assert policy is not None
    u = group_uniform(pop.group[rows], new_key(sim.rng))
    pop.place[rows] = policy.bus_south_place[np.searchsorted(policy.bus_south_cdf, u, side="right")]
    rest = sim.timeline.scenario.behaviour.rest_days_after_bus_south
    if rest:
        pop.next_day[rows] = min(day + rest, np.iinfo(np.int16).max)
    count_attempt(pop, rows)
    sim.to_state(rows, State.WAITING, day)


def detention_outcomes(sim: Simulation, day: int) -> int | None:
    """Deport, bus south or release some of those held; returns the bus seats left today.

    People whose outcome is busing south but who find no seat today stay held (oldest
    detained first to a seat): limited buses lengthen stays and fill stations.
    """
    pop = sim.pop
    policy = sim.policy
    assert policy is not None
    rows = sim.rows(State.DETAINED)
    out = rows[group_uniform(pop.group[rows], new_key(sim.rng)) < policy.detention_exit_probability]
    bus = group_uniform(pop.group[out], new_key(sim.rng)) < policy.bus_south_share
    bused, rest = out[bus], out[~bus]
    seats = _bus_seats_today(sim)
    if seats is not None:
        line = admit(seats, by=(pop.since[bused], bused))  # longest held first
        bused, _ = line.take(bused)
        seats -= bused.size
    out = np.concatenate([bused, rest])
    # bincount rather than np.subtract.at: the same counts (every detained person is at a
    # facility, so no index is negative), at a fraction of the cost on a few dozen people.
    sim.occupancy -= np.bincount(pop.facility[out], minlength=sim.occupancy.size)
    pop.facility[out] = -1

    deport = (
        group_uniform(pop.group[rest], new_key(sim.rng)) < policy.deportation_share[pop.nationality[rest]]
    )
    sim.leave(rest[deport], "deportations", day, may_return=True)
    released = rest[~deport]

    sim.recorder.add(day, "bused_south", pop.place[bused], pop.nationality[bused])
    sim.recorder.add(day, "released", pop.place[released], pop.nationality[released])
    count_attempt(sim.pop, released)
    sim.to_state(released, State.WAITING, day)
    _let_go_south(sim, bused, day)
    return seats


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


def admit_caught(sim: Simulation, day: int, bus_seats: int | None = None) -> None:
    """Take the day's caught to the nearest open facility with room, within the overflow rule.

    Those the nearest station cannot hold are transferred to the next nearest stations with
    room within ``detention_transfer_max_km``; the rest go from holding sites onto southbound
    buses (``overflow_bus_south_share``, within ``bus_seats`` left today) or are released on
    the spot with an exit order.
    """
    pop = sim.pop
    policy, routes = sim.policy, sim.routes
    assert policy is not None and routes is not None
    caught = sim.caught.take()
    sim.recorder.add(day, "interdictions", pop.place[caught], pop.nationality[caught])
    caught_at = pop.place[caught]

    # Room per facility (agents), then admit in random order within each facility.
    # Limits in agents are rounded at random (unbiased), so small stations still hold
    # people when one agent stands for many persons.
    limit = daily_capacity(
        policy.detention_overflow_max_ratio * policy.detention_capacity_persons, sim.scale, sim.rng
    )
    room = np.maximum(limit - sim.occupancy, 0)
    ranked = routes.facilities_by_distance[caught_at]
    held_parts, fac_parts = [], []
    waiting, waiting_rank = caught, ranked
    for k in range(ranked.shape[1]):  # nearest station first, then transfers outward
        facility = waiting_rank[:, k].astype(np.intp)
        line = admit(room, server=facility, rng=sim.rng)  # -1 (none in reach): not admitted
        position = np.arange(waiting.size)
        held_pos, left_pos = line.take(position)
        fac = line.server[line.served]
        room -= np.bincount(fac, minlength=room.size)  # fac: servers that served, all in range
        held_parts.append(waiting[held_pos])
        fac_parts.append(fac)
        if k > 0:
            sim.recorder.add(
                day, "detention_transfers", pop.place[waiting[held_pos]], pop.nationality[waiting[held_pos]]
            )
        waiting, waiting_rank = waiting[left_pos], waiting_rank[left_pos]
        if waiting.size == 0 or not (room > 0).any():
            break
    held = np.concatenate(held_parts)
    fac = np.concatenate(fac_parts).astype(np.int64)
    pop.facility[held] = fac
    pop.place[held] = sim.timeline.network.detention_place[fac]
    sim.occupancy += np.bincount(fac, minlength=sim.occupancy.size)
    sim.to_state(held, State.DETAINED, day)
    sim.recorder.add(day, "detentions", pop.place[held], pop.nationality[held])

    turned_away = waiting
    if policy.overflow_bus_south_share > 0 and turned_away.size:
        to_bus = group_uniform(pop.group[turned_away], new_key(sim.rng)) < policy.overflow_bus_south_share
        bus_rows = turned_away[to_bus]
        if bus_seats is not None and bus_rows.size > bus_seats:
            bus_rows = sim.rng.permutation(bus_rows)[: max(bus_seats, 0)]
        turned_away = np.setdiff1d(turned_away, bus_rows, assume_unique=True)
        sim.recorder.add(
            day, "detention_overflow_bused_south", pop.place[bus_rows], pop.nationality[bus_rows]
        )
        _let_go_south(sim, bus_rows, day)
    sim.recorder.add(day, "detention_overflow_released", pop.place[turned_away], pop.nationality[turned_away])
    count_attempt(sim.pop, turned_away)
    sim.to_state(turned_away, State.WAITING, day)


def detention(sim: Simulation, day: int) -> None:
    """Detention phase: outcomes first (so today's admissions stay at least a night), then admission.

    Outcomes and admission are compiled where :mod:`corridor.engine.kernels` runs
    (:func:`corridor.engine.kernels.detention_outcomes_day`,
    :func:`corridor.engine.kernels.detention_admit_day`).
    """
    if sim.kernels is None:
        seats_left = detention_outcomes(sim, day)
        release_excess(sim, day)
        admit_caught(sim, day, seats_left)
        return
    k, t, policy, inputs = sim.kernels, sim.timeline, sim.policy, sim.kernel_inputs
    assert policy is not None and sim.routes is not None
    today = k.today_of(sim.recorder, day)
    south = (policy.bus_south_place, policy.bus_south_cdf, t.scenario.behaviour.rest_days_after_bus_south)
    seats = policy.bus_south_seats_per_day
    seats_left, away = k.detention_outcomes_day(
        inputs["rng"], day, sim.active, inputs["pop"], sim.scale, policy.detention_exit_probability,
        policy.bus_south_share, (seats is not None, 0.0 if seats is None else float(seats)),
        policy.deportation_share, south, (t.reentry_probability, t.scenario.behaviour.reentry_delay_days),
        sim.occupancy, today, inputs["codes"],
    )  # fmt: skip
    if away.size:
        sim.away = np.concatenate([sim.away, away])
    release_excess(sim, day)
    k.detention_admit_day(
        inputs["rng"], day, sim.caught.take(), inputs["pop"], sim.scale,
        policy.detention_overflow_max_ratio * policy.detention_capacity_persons, sim.occupancy,
        sim.routes.facilities_by_distance, t.network.detention_place, policy.overflow_bus_south_share,
        seats_left, south, today, inputs["codes"],
    )  # fmt: skip
