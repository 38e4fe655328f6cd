"""The compiled border phase (:mod:`corridor.engine.phases.border`), but for the CBP One
lottery, which draws ``choice`` without replacement (not in numba) and stays in NumPy
between the two kernels."""

from __future__ import annotations

import numba
import numpy as np

from corridor.engine.kernels.common import (
    BORDER_WAITING,
    EXPELLED,
    MPP,
    MPP_WAITING,
    RELEASED,
    REMOVED,
    WAITING,
    Array,
    Codes,
    PopArrays,
    RngBox,
    Today,
    count_attempt,
    group_uniform_one,
    leave_for_good,
    leave_may_return,
    new_key,
    oldest_first,
    round_at_random,
    select,
)

__all__ = ["border_cross_day", "border_lists_day"]


@numba.njit(cache=True)
def border_lists_day(
    rng_box: RngBox,
    day: int,
    active: Array,
    caravans_active: bool,
    pop: PopArrays,
    destinations: Array,
    scale: float,
    metering_intake: Array,
    metering_join_share: Array,
    cbp_one_open: bool,
    cbp_one_uptake: Array,
    abandon_probability_per_day: float,
    today: Today,
    codes: Codes,
) -> Array:
    """:func:`corridor.engine.phases.border.lists` up to the CBP One lottery, for the free
    people waiting: those booked go to the port, the fresh join a list or not, the
    listed give up or not, metered ports let in their intake (oldest first). Returns the
    crossers in the NumPy phase's order (at their city, then those giving up a list)."""
    rng = rng_box.rng
    rows = select(active, WAITING, caravans_active, pop)
    crossers = np.empty(rows.size + active.size, dtype=np.intp)
    n = 0
    join_key = new_key(rng)
    for r in rows:
        if pop.place[r] != destinations[pop.destination[r]] or not pop.since[r] < day:
            continue
        if pop.appointment[r]:  # booked: straight to the port
            leave_for_good(r, codes.us_admitted_port, day, pop, today)
            continue
        if pop.since[r] == day - 1:  # fresh: decide once whether to join a list
            nat = pop.nationality[r]
            p_join = metering_join_share[nat] if metering_intake[pop.place[r]] > 0 else 0.0
            if cbp_one_open:
                p_join = max(p_join, cbp_one_uptake[nat])
            if group_uniform_one(pop.group[r], join_key) < p_join:
                pop.state[r] = BORDER_WAITING
                pop.since[r] = day
                continue
        crossers[n] = r
        n += 1
    give_up_key = new_key(rng)
    metered = np.empty(active.size, dtype=np.intp)
    n_metered = 0
    for r in active:
        if pop.state[r] != BORDER_WAITING:
            continue
        if group_uniform_one(pop.group[r], give_up_key) < abandon_probability_per_day:
            pop.state[r] = WAITING  # giving up the list, they cross
            pop.since[r] = day
            crossers[n] = r
            n += 1
        elif metering_intake[pop.place[r]] > 0:
            metered[n_metered] = r
            n_metered += 1
    if n_metered:  # each port lets in its daily intake, oldest names first
        quota = np.empty(metering_intake.size, dtype=np.int64)
        for p in range(metering_intake.size):  # daily_capacity: rounded at random
            quota[p] = round_at_random(metering_intake[p] / scale, rng)
        for r in oldest_first(metered, n_metered, pop):
            port = pop.place[r]
            if quota[port] > 0:
                quota[port] -= 1
                leave_for_good(r, codes.us_admitted_port, day, pop, today)
    return crossers[:n]


@numba.njit(cache=True)
def border_cross_day(
    rng_box: RngBox,
    day: int,
    crossers: Array,
    active: Array,
    pop: PopArrays,
    border_crossing_probability_per_day: float,
    pathway: tuple[bool, Array, Array, Array, np.uint64],
    river_crossing_death_probability: float,
    us_apprehension_probability: float,
    us_outcome_cdf: Array,
    mpp_city: Array,
    expelled_retry_probability: float,
    reentry: tuple[Array, float],
    mpp: tuple[float, float, float],
    today: Today,
    codes: Codes,
) -> Array:
    """:func:`corridor.engine.phases.border.border` from the crossings on: who crosses
    between ports, drowns, evades or is met; what the Border Patrol does with those it met
    (:func:`~corridor.engine.phases.border.us_outcomes`); then the MPP hearings. Returns the
    rows sent away who will come back, in the order the NumPy phase adds them.

    ``pathway`` is (any pathway open, its share and net day by nationality, the rows'
    arrival offsets, the salted key of the lasting decision); ``reentry`` is (probability by
    nationality, mean delay in days); ``mpp`` is (hearing delay in days, abandonment
    probability a day, relief share).
    """
    rng = rng_box.rng
    pathway_open, pathway_share, pathway_net_day, arrival_offsets, pathway_key = pathway
    hearing_delay_days = mpp[0]
    away = np.empty(crossers.size + active.size, dtype=np.intp)
    n_away = 0
    cross_key = new_key(rng)
    crossing = np.empty(crossers.size, dtype=np.intp)
    n = 0
    for r in crossers:
        if not group_uniform_one(pop.group[r], cross_key) < border_crossing_probability_per_day:
            continue
        if pathway_open:  # taking_pathway: they wait instead
            nat = pop.nationality[r]
            net_from = pathway_net_day[nat]
            first_day = np.searchsorted(arrival_offsets, r, side="right") - 1
            u = group_uniform_one(pop.group[r], pathway_key)
            if net_from >= 0 and first_day < net_from and u < pathway_share[nat]:
                continue
        crossing[n] = r
        n += 1
    drowned = np.empty(n, dtype=np.bool_)
    for i in range(n):
        drowned[i] = rng.random() < river_crossing_death_probability
    met_key = new_key(rng)
    encountered = np.empty(n, dtype=np.intp)
    n_met = 0
    for i in range(n):
        r = crossing[i]
        if drowned[i]:  # record_deaths(..., "river")
            today.flows[codes.deaths_river, pop.place[r], pop.nationality[r]] += 1
            leave_for_good(r, codes.deaths, day, pop, today)
        elif group_uniform_one(pop.group[r], met_key) < us_apprehension_probability:
            encountered[n_met] = r
            n_met += 1
        else:
            leave_for_good(r, codes.us_evaded, day, pop, today)
    outcome_key = new_key(rng)
    if n_met:
        n_away = _us_outcomes(
            rng,
            day,
            encountered[:n_met],
            outcome_key,
            pop,
            us_outcome_cdf,
            mpp_city,
            expelled_retry_probability,
            reentry,
            hearing_delay_days,
            today,
            codes,
            away,
            n_away,
        )
    n_away = _mpp_hearings(rng, day, active, pop, mpp, reentry, today, codes, away, n_away)
    return away[:n_away]


@numba.njit(cache=True)
def _us_outcomes(
    rng: np.random.Generator,
    day: int,
    encountered: Array,
    key: np.uint64,
    pop: PopArrays,
    us_outcome_cdf: Array,
    mpp_city: Array,
    expelled_retry_probability: float,
    reentry: tuple[Array, float],
    hearing_delay_days: float,
    today: Today,
    codes: Codes,
    away: Array,
    n_away: int,
) -> int:
    """:func:`corridor.engine.phases.border.us_outcomes`; returns the new count in ``away``."""
    n = encountered.size
    n_outcomes = us_outcome_cdf.shape[1]
    by_outcome = np.empty((n_outcomes, n), dtype=np.intp)
    counts = np.zeros(n_outcomes, dtype=np.int64)
    for r in encountered:
        nat, place = pop.nationality[r], pop.place[r]
        today.flows[codes.us_encounters, place, nat] += 1
        u = group_uniform_one(pop.group[r], key)
        outcome = 0
        for j in range(n_outcomes):
            outcome += u >= us_outcome_cdf[nat, j]
        outcome = min(outcome, n_outcomes - 1)
        if outcome == MPP and not mpp_city[place]:
            outcome = RELEASED
        by_outcome[outcome, counts[outcome]] = r
        counts[outcome] += 1
    for i in range(counts[RELEASED]):
        leave_for_good(by_outcome[RELEASED, i], codes.us_released, day, pop, today)
    n_away = leave_may_return(
        by_outcome[REMOVED][: counts[REMOVED]], codes.us_removed, day, reentry, rng, pop, today, away, n_away
    )
    n_expelled = counts[EXPELLED]
    if n_expelled:
        expelled = by_outcome[EXPELLED]
        for i in range(n_expelled):
            r = expelled[i]
            today.flows[codes.us_expelled, pop.place[r], pop.nationality[r]] += 1
            count_attempt(r, pop)
        if expelled_retry_probability < 1.0:  # else everyone stays, with no draw
            stay_key = new_key(rng)
            home = np.empty(n_expelled, dtype=np.intp)
            n_home = 0
            stays = 0
            for i in range(n_expelled):
                r = expelled[i]
                if group_uniform_one(pop.group[r], stay_key) < expelled_retry_probability:
                    expelled[stays] = r
                    stays += 1
                else:
                    home[n_home] = r
                    n_home += 1
            n_away = leave_may_return(
                home[:n_home], codes.returned_home, day, reentry, rng, pop, today, away, n_away
            )
            n_expelled = stays
        for i in range(n_expelled):
            pop.state[expelled[i]] = WAITING
            pop.since[expelled[i]] = day
    for i in range(counts[MPP]):
        r = by_outcome[MPP, i]
        today.flows[codes.mpp_returns, pop.place[r], pop.nationality[r]] += 1
        count_attempt(r, pop)
        pop.state[r] = MPP_WAITING
        pop.since[r] = day
    for i in range(counts[MPP]):  # the hearing's day, drawn after everyone is returned
        r = by_outcome[MPP, i]
        delay = 1.0 + rng.exponential(hearing_delay_days)
        pop.next_day[r] = np.int16(min(day + delay, 32767.0))
    return n_away


@numba.njit(cache=True)
def _mpp_hearings(
    rng: np.random.Generator,
    day: int,
    active: Array,
    pop: PopArrays,
    mpp: tuple[float, float, float],
    reentry: tuple[Array, float],
    today: Today,
    codes: Codes,
    away: Array,
    n_away: int,
) -> int:
    """:func:`corridor.engine.phases.border.mpp_hearings`; returns the new count in ``away``."""
    _, mpp_abandon_probability, mpp_relief_share = mpp
    quit_key = new_key(rng)
    heard = np.empty(active.size, dtype=np.intp)
    n_heard = 0
    for r in active:
        if pop.state[r] != MPP_WAITING:
            continue
        if group_uniform_one(pop.group[r], quit_key) < mpp_abandon_probability:
            pop.state[r] = WAITING
            pop.since[r] = day
        elif pop.next_day[r] <= day:
            heard[n_heard] = r
            n_heard += 1
    relief_key = new_key(rng)
    removed = np.empty(n_heard, dtype=np.intp)
    n_removed = 0
    for i in range(n_heard):
        r = heard[i]
        today.flows[codes.mpp_hearings, pop.place[r], pop.nationality[r]] += 1
        if group_uniform_one(pop.group[r], relief_key) < mpp_relief_share:
            leave_for_good(r, codes.us_released, day, pop, today)
        else:
            removed[n_removed] = r
            n_removed += 1
    n_away = leave_may_return(
        removed[:n_removed], codes.us_removed, day, reentry, rng, pop, today, away, n_away
    )
    return n_away
