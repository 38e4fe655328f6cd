"""The compiled detention phase (:mod:`corridor.engine.phases.detention`): outcomes, then
admission; the releases over a cut capacity (``choice`` without replacement) stay in NumPy
between the two."""

from __future__ import annotations

import numba
import numpy as np

from corridor.engine.kernels.common import (
    DETAINED,
    WAITING,
    Array,
    Codes,
    PopArrays,
    RngBox,
    Today,
    count_attempt,
    group_uniform_one,
    leave_may_return,
    new_key,
    oldest_first,
    round_at_random,
)

__all__ = ["detention_admit_day", "detention_outcomes_day"]


@numba.njit(cache=True)
def detention_outcomes_day(
    rng_box: RngBox,
    day: int,
    active: Array,
    pop: PopArrays,
    scale: float,
    exit_probability: float,
    bus_south_share: float,
    seats: tuple[bool, float],
    deportation_share: Array,
    south: tuple[Array, Array, int],
    reentry: tuple[Array, float],
    occupancy: Array,
    today: Today,
    codes: Codes,
) -> tuple[int, Array]:
    """:func:`corridor.engine.phases.detention.detention_outcomes`: who of the detained leaves
    today, bused south (oldest detained first to the seats, if ``seats`` = (limited, seats a
    day in persons) limits them), deported or released. Returns the seats left (-1:
    unlimited) and the deported who will come back, in order."""
    rng = rng_box.rng
    limited, seats_persons = seats
    exit_key = new_key(rng)
    out = np.empty(active.size, dtype=np.intp)
    n_out = 0
    for r in active:
        if pop.state[r] == DETAINED and group_uniform_one(pop.group[r], exit_key) < exit_probability:
            out[n_out] = r
            n_out += 1
    bus_key = new_key(rng)
    bused = np.empty(n_out, dtype=np.intp)
    rest = np.empty(n_out, dtype=np.intp)
    n_bused = n_rest = 0
    for i in range(n_out):
        r = out[i]
        if group_uniform_one(pop.group[r], bus_key) < bus_south_share:
            bused[n_bused] = r
            n_bused += 1
        else:
            rest[n_rest] = r
            n_rest += 1
    seats_left = -1
    if limited:  # the longest held first to a seat; the others stay held
        seats_left = round_at_random(seats_persons / scale, rng)
        if n_bused > seats_left:
            bused[: max(seats_left, 0)] = oldest_first(bused, n_bused, pop)[: max(seats_left, 0)]
        n_bused = min(n_bused, max(seats_left, 0))
        seats_left -= n_bused
    for part, n in ((bused, n_bused), (rest, n_rest)):
        for i in range(n):
            occupancy[pop.facility[part[i]]] -= 1
            pop.facility[part[i]] = -1
    deport_key = new_key(rng)
    deported = np.empty(n_rest, dtype=np.intp)
    n_deported = n_released = 0
    for i in range(n_rest):
        r = rest[i]
        if group_uniform_one(pop.group[r], deport_key) < deportation_share[pop.nationality[r]]:
            deported[n_deported] = r
            n_deported += 1
        else:
            rest[n_released] = r  # released
            n_released += 1
    away = np.empty(n_deported, dtype=np.intp)
    n_away = leave_may_return(
        deported[:n_deported], codes.deportations, day, reentry, rng, pop, today, away, 0
    )
    for i in range(n_bused):
        today.flows[codes.bused_south, pop.place[bused[i]], pop.nationality[bused[i]]] += 1
    for i in range(n_released):
        r = rest[i]
        today.flows[codes.released, pop.place[r], pop.nationality[r]] += 1
        count_attempt(r, pop)
        pop.state[r] = WAITING
        pop.since[r] = day
    _let_go_south(bused, n_bused, day, new_key(rng), south, pop)
    return seats_left, away[:n_away]


@numba.njit(cache=True)
def detention_admit_day(
    rng_box: RngBox,
    day: int,
    caught: Array,
    pop: PopArrays,
    scale: float,
    limit_persons: Array,
    occupancy: Array,
    facilities_by_distance: Array,
    detention_place: Array,
    overflow_bus_south_share: float,
    bus_seats: int,
    south: tuple[Array, Array, int],
    today: Today,
    codes: Codes,
) -> None:
    """:func:`corridor.engine.phases.detention.admit_caught` for the day's ``caught``: to the
    nearest open station with room, then outward in transfer reach (in random order within
    a station, one uniform each per round), the rest bused south (within ``bus_seats``, -1:
    unlimited) or released on the spot. ``limit_persons`` is each station's ceiling in persons."""
    rng = rng_box.rng
    for r in caught:
        today.flows[codes.interdictions, pop.place[r], pop.nationality[r]] += 1
    n_fac = occupancy.size
    room = np.empty(n_fac, dtype=np.int64)
    for f in range(n_fac):
        room[f] = max(round_at_random(limit_persons[f] / scale, rng) - occupancy[f], 0)
    waiting = caught.copy()
    rank = np.empty((caught.size, facilities_by_distance.shape[1]), dtype=np.int64)
    for i in range(caught.size):
        rank[i] = facilities_by_distance[pop.place[caught[i]]]
    n = caught.size
    for k in range(facilities_by_distance.shape[1]):  # nearest station first, then transfers
        if n == 0:
            break
        u = np.empty(n)
        for i in range(n):
            u[i] = rng.random()
        facility = rank[:n, k].copy()
        queue = _by_facility_then_uniform(facility, u)
        next_waiting = np.empty(n, dtype=np.intp)
        next_rank = np.empty((n, rank.shape[1]), dtype=np.int64)
        left = 0
        for pos in queue:
            r, f = waiting[pos], facility[pos]
            if 0 <= f < n_fac and room[f] > 0:
                room[f] -= 1
                if k > 0:
                    today.flows[codes.detention_transfers, pop.place[r], pop.nationality[r]] += 1
                pop.facility[r] = f
                pop.place[r] = detention_place[f]
                occupancy[f] += 1
                pop.state[r] = DETAINED
                pop.since[r] = day
                today.flows[codes.detentions, pop.place[r], pop.nationality[r]] += 1
            else:
                next_waiting[left] = r
                next_rank[left] = rank[pos]
                left += 1
        waiting, rank, n = next_waiting, next_rank, left
        if not (room > 0).any():
            break
    turned_away = waiting[:n]
    if overflow_bus_south_share > 0 and n:
        bus_key = new_key(rng)
        to_bus = np.empty(n, dtype=np.intp)
        n_bus = 0
        for r in turned_away:
            if group_uniform_one(pop.group[r], bus_key) < overflow_bus_south_share:
                to_bus[n_bus] = r
                n_bus += 1
        bus_rows = to_bus[:n_bus]
        if bus_seats >= 0 and n_bus > bus_seats:
            bus_rows = rng.permutation(bus_rows)[:bus_seats]
        on_bus = np.zeros(pop.state.size, dtype=np.bool_)
        for r in bus_rows:
            on_bus[r] = True
            today.flows[codes.detention_overflow_bused_south, pop.place[r], pop.nationality[r]] += 1
        _let_go_south(bus_rows, bus_rows.size, day, new_key(rng), south, pop)
        kept = 0
        for r in turned_away:
            if not on_bus[r]:
                turned_away[kept] = r
                kept += 1
        turned_away = turned_away[:kept]
    for r in turned_away:
        today.flows[codes.detention_overflow_released, pop.place[r], pop.nationality[r]] += 1
        count_attempt(r, pop)
        pop.state[r] = WAITING
        pop.since[r] = day


@numba.njit(cache=True, inline="always")
def _let_go_south(
    rows: Array, n: int, day: int, key: np.uint64, south: tuple[Array, Array, int], pop: PopArrays
) -> None:
    """:func:`corridor.engine.phases.detention._let_go_south` of ``rows[:n]``; ``south`` is
    (drop-off places, their cumulative weights, rest days after the bus)."""
    places, cdf, rest_days = south
    for i in range(n):
        r = rows[i]
        u = group_uniform_one(pop.group[r], key)
        pop.place[r] = places[np.searchsorted(cdf, u, side="right")]
        if rest_days:
            pop.next_day[r] = min(day + rest_days, 32767)
        count_attempt(r, pop)
        pop.state[r] = WAITING
        pop.since[r] = day


@numba.njit(cache=True, inline="always")
def _by_facility_then_uniform(facility: Array, u: Array) -> Array:
    """``np.lexsort((u, facility))``: positions by facility, then by uniform (both stable)."""
    by_u = np.argsort(u, kind="mergesort")
    return by_u[np.argsort(facility[by_u], kind="mergesort")]
