"""The compiled asylum phase (:mod:`corridor.engine.phases.asylum`)."""

from __future__ import annotations

import numba
import numpy as np

from corridor.engine.kernels.common import (
    ASYLUM_PENDING,
    WAITING,
    Array,
    Codes,
    PopArrays,
    RngBox,
    Today,
    count_attempt,
    count_wait,
    group_uniform_one,
    leave_for_good,
    new_key,
    round_at_random,
    select,
)

__all__ = ["asylum_day"]


@numba.njit(cache=True)
def asylum_day(
    rng_box: RngBox,
    day: int,
    active: Array,
    pop: PopArrays,
    scale: float,
    abandonment_probability_per_day: float,
    office_place: Array,
    office_days: Array,
    decisions_per_day: Array,
    recognition_share: Array,
    papers_validity_days: int,
    settle_after_recognition_share: float,
    application_probability: Array,
    n_places: int,
    wait_edges: Array,
    today: Today,
    codes: Codes,
) -> None:
    """:func:`corridor.engine.phases.asylum.asylum`: abandonment, the day's decisions (each
    open office its capacity, oldest cases first), then new applications.

    Draws, as the NumPy phase: the abandonment key; one uniform per office (its capacity,
    rounded at random); the recognition and settlement keys; the application key if an
    office is open.
    """
    rng = rng_box.rng
    n_offices = office_place.size
    pending = select(active, ASYLUM_PENDING, False, pop)
    n = pending.size
    if n_offices == 0 and n == 0:
        return
    quit_key = new_key(rng)
    kept = 0
    for i in range(n):
        r = pending[i]
        if group_uniform_one(pop.group[r], quit_key) < abandonment_probability_per_day:
            today.flows[codes.asylum_abandoned, pop.place[r], pop.nationality[r]] += 1
            count_wait(today.asylum_waits, codes.waits_abandoned, day - int(pop.since[r]), wait_edges)
            pop.office[r] = -1
            pop.state[r] = WAITING
            pop.since[r] = day
        else:
            pending[kept] = r
            kept += 1
    is_open = (office_days[:, 0] <= day) & (day < office_days[:, 1])
    capacity = np.zeros(n_offices, dtype=np.int64)
    for o in range(n_offices):  # daily_capacity: persons to agents, rounded at random
        agents = round_at_random(decisions_per_day[o] / scale, rng)  # drawn for closed offices too
        capacity[o] = agents if is_open[o] else 0
    recognition_key = new_key(rng)
    settle_key = new_key(rng)
    # Each office decides its capacity, oldest cases first (then by row): admit(by=(since, row)).
    for o in range(n_offices):
        if capacity[o] <= 0:
            continue
        order = np.empty(kept, dtype=np.int64)
        m = 0
        for i in range(kept):
            r = pending[i]
            if pop.office[r] == o:
                order[m] = (np.int64(pop.since[r]) << 32) | r
                m += 1
        if m == 0:
            continue
        ranked = np.sort(order[:m])
        for j in range(min(m, capacity[o])):
            _decide_one(
                day,
                ranked[j] & 0xFFFFFFFF,
                pop,
                recognition_key,
                settle_key,
                recognition_share,
                papers_validity_days,
                settle_after_recognition_share,
                wait_edges,
                today,
                codes,
            )
    if is_open.any():
        _apply(rng, day, active, pop, is_open, office_place, application_probability, n_places, today, codes)


@numba.njit(cache=True, inline="always")
def _decide_one(
    day: int,
    r: int,
    pop: PopArrays,
    recognition_key: np.uint64,
    settle_key: np.uint64,
    recognition_share: Array,
    papers_validity_days: int,
    settle_after_recognition_share: float,
    wait_edges: Array,
    today: Today,
    codes: Codes,
) -> None:
    """:func:`corridor.engine.phases.asylum._decide` of one claim."""
    place, nat, g = pop.place[r], pop.nationality[r], pop.group[r]
    waited = day - int(pop.since[r])
    count_wait(today.asylum_waits, codes.waits_decided, waited, wait_edges)
    today.flows[codes.asylum_decisions, place, nat] += 1
    today.flows[codes.asylum_wait_person_days, place, nat] += waited
    pop.office[r] = -1
    if group_uniform_one(g, recognition_key) < recognition_share[nat]:
        today.flows[codes.asylum_recognised, place, nat] += 1
        pop.papers_until[r] = min(day + papers_validity_days, 32767)
        if group_uniform_one(g, settle_key) < settle_after_recognition_share:
            leave_for_good(r, codes.settled, day, pop, today)
            return
    else:
        count_attempt(r, pop)
    pop.state[r] = WAITING
    pop.since[r] = day


@numba.njit(cache=True, inline="always")
def _apply(
    rng: np.random.Generator,
    day: int,
    active: Array,
    pop: PopArrays,
    is_open: Array,
    office_place: Array,
    application_probability: Array,
    n_places: int,
    today: Today,
    codes: Codes,
) -> None:
    """:func:`corridor.engine.phases.asylum._apply`: the free people waiting without papers
    (after today's decisions) at a place with an open office file with their daily chance."""
    office_at = np.full(n_places, -1, dtype=np.int64)
    for o in range(office_place.size - 1, -1, -1):  # the first open office of a place wins
        if is_open[o]:
            office_at[office_place[o]] = o
    apply_key = new_key(rng)
    for r in active:
        if pop.state[r] != WAITING or pop.caravan[r] >= 0 or pop.papers_until[r] > day:
            continue
        office = office_at[pop.place[r]]
        p_apply = application_probability[pop.nationality[r]]
        if office >= 0 and group_uniform_one(pop.group[r], apply_key) < p_apply:
            pop.office[r] = office
            pop.state[r] = ASYLUM_PENDING
            pop.since[r] = day
            today.flows[codes.asylum_applications, pop.place[r], pop.nationality[r]] += 1
