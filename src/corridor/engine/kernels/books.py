"""The compiled arrivals and record phases (:mod:`corridor.engine.phases.arrivals`,
:meth:`corridor.engine.state.Simulation.record`) and the selection of rows by state
(:meth:`corridor.engine.state.Simulation.rows`)."""

from __future__ import annotations

import numba
import numpy as np

from corridor.engine.kernels.common import AWAY, WAITING, Array, PopArrays, RngBox, count_wait

__all__ = ["arrivals_day", "record_day", "rows_in"]


@numba.njit(cache=True)
def arrivals_day(
    rng_box: RngBox,
    day: int,
    first: tuple[int, int],
    away: Array,
    active: Array,
    pop: PopArrays,
    entry_cdf_today: Array,
    is_present: Array,
    arrivals_flow: int,
    flows_today: Array,
) -> tuple[Array, Array]:
    """:func:`corridor.engine.phases.arrivals.arrivals`: the day's first entrants (rows
    ``first[0]`` to ``first[1]``) and the re-entrants due among ``away`` (each drawing its
    entry place from its nationality's ``entry_cdf_today``) enter, waiting. Returns the new
    active index (sorted) and the rows still away (in order)."""
    rng = rng_box.rng
    n_first = first[1] - first[0]
    still_away = np.empty(away.size, dtype=np.intp)
    again = np.empty(away.size, dtype=np.intp)
    n_away = n_again = 0
    for r in away:
        if pop.state[r] != AWAY:
            continue
        if pop.next_day[r] <= day:
            again[n_again] = r
            n_again += 1
        else:
            still_away[n_away] = r
            n_away += 1
    for i in range(n_again):  # through their nationality's recent entry places
        r = again[i]
        u = rng.random()
        place = 0
        for c in entry_cdf_today[pop.nationality[r]]:
            place += u >= c
        pop.place[r] = place
    entering = np.empty(n_first + n_again, dtype=np.intp)
    entering[:n_first] = np.arange(first[0], first[1])
    entering[n_first:] = again[:n_again]
    # Simulation.admit_rows, before their state changes (re-entrants may still sit in the
    # index): the present rows of the sorted index merged with the (few) entering, sorted.
    joining = np.sort(entering)
    merged = np.empty(active.size + entering.size, dtype=np.intp)
    n = j = 0
    for r in active:
        if not is_present[pop.state[r]]:
            continue
        while j < joining.size and joining[j] < r:
            merged[n] = joining[j]
            n, j = n + 1, j + 1
        merged[n] = r
        n += 1
    merged[n : n + joining.size - j] = joining[j:]
    new_active = merged[: n + joining.size - j]
    for r in entering:
        pop.state[r] = WAITING
        pop.since[r] = day
        flows_today[arrivals_flow, pop.place[r], pop.nationality[r]] += 1
    return new_active, still_away[:n_away]


@numba.njit(cache=True)
def record_day(
    day: int,
    active: Array,
    pop: PopArrays,
    stock_of_state: Array,
    at_a_place: Array,
    stranded_after_days: int,
    metering_list: Array,
    caravans_active: bool,
    stocks_today: Array,
    in_caravan: Array,
    metering_waitlist: Array,
    stranded: Array,
    asylum_waits_today: Array,
    pending: int,
    wait_edges: Array,
    border_waiting: int,
    asylum_pending: int,
) -> int:
    """:meth:`corridor.engine.state.Simulation.record`'s counts of the present rows of
    ``active``: stocks by state, the three extra stocks (rows of today's ``extra_stocks``) and
    the histogram of pending asylum waits (row ``pending`` of today's ``asylum_waits``, added
    to); returns how many are present."""
    stocks_today[:] = 0
    in_caravan[:] = 0
    metering_waitlist[:] = 0
    stranded[:] = 0
    n_present = 0
    for r in active:
        state = pop.state[r]
        stock = stock_of_state[state]
        if stock < 0:
            continue
        n_present += 1
        place, nat = pop.place[r], pop.nationality[r]
        stocks_today[stock, place, nat] += 1
        if state == border_waiting and metering_list[place]:
            metering_waitlist[place, nat] += 1
        waited = day - int(pop.since[r])
        if at_a_place[state] and waited >= stranded_after_days:
            stranded[place, nat] += 1
        if caravans_active and pop.caravan[r] >= 0:
            in_caravan[place, nat] += 1
        if state == asylum_pending:
            count_wait(asylum_waits_today, pending, waited, wait_edges)
    return n_present


@numba.njit(cache=True)
def rows_in(active: Array, state: Array, wanted: Array, caravan: Array, free_only: bool) -> Array:
    """:meth:`~corridor.engine.state.Simulation.rows` (``free_rows`` with ``free_only``): the
    rows of ``active`` whose state is ``wanted`` (a flag per state), in ``active``'s order."""
    out = np.empty(active.size, dtype=np.intp)
    n = 0
    for r in active:
        if wanted[state[r]] and not (free_only and caravan[r] >= 0):
            out[n] = r
            n += 1
    return out[:n]
