"""The compiled decide, move and raids phases (:mod:`corridor.engine.phases.decide`,
:mod:`corridor.engine.phases.move`)."""

from __future__ import annotations

import math

import numba
import numpy as np

from corridor.engine.kernels.common import (
    IN_TRANSIT,
    WAITING,
    Array,
    Codes,
    Net,
    PopArrays,
    RngBox,
    Routes,
    Today,
    catch,
    choice_row_of_place0,
    group_uniform_one,
    leave_for_good,
    new_key,
    select,
    start_on_link,
)

__all__ = ["decide_day", "move_day", "raids_day"]


@numba.njit(cache=True)
def move_day(
    rng_box: RngBox,
    day: int,
    active: Array,
    caravans_active: bool,
    pop: PopArrays,
    routes: Routes,
    net: Net,
    link_stacked: Array,
    interdiction_factor: Array,
    continue_probability: float,
    max_hops: int,
    eps_km: float,
    today: Today,
    codes: Codes,
) -> Array:
    """:func:`corridor.engine.phases.move.move`: everyone free in transit moves on.

    Writes the population arrays and today's counters; returns the rows caught on the way,
    in the order the NumPy phase catches them.
    """
    rng = rng_box.rng
    n_places = routes.out_links.shape[0]
    cur = select(active, IN_TRANSIT, caravans_active, pop)
    n = cur.size
    caught_out = np.empty(n, dtype=np.intp)
    time_left = np.ones(n)
    # Fixed for the day, as in the NumPy phase: group, goal, exposure, choice row of place 0.
    group = np.empty(n, dtype=np.int64)
    goal = np.empty(n, dtype=np.int64)
    exposure = np.empty(n)
    choice = np.empty(n, dtype=np.int64)
    for i in range(n):
        r = cur[i]
        group[i] = pop.group[r]
        goal[i] = net.destinations[pop.destination[r]]
        exposure[i] = interdiction_factor[pop.nationality[r]]
        choice[i] = choice_row_of_place0(r, day, pop, n_places)
    link = np.empty(n, dtype=np.int64)
    u_death = np.empty(n)
    n_caught = 0
    for _hop in range(max_hops):
        if n == 0:
            break
        for i in range(n):
            u_death[i] = rng.random()
        catch_key = new_key(rng)
        m = 0  # travellers who reach the end of their link, packed to the front
        for i in range(n):
            r = cur[i]
            lk = np.int64(pop.link[r])
            speed, length = link_stacked[0, lk], link_stacked[1, lk]
            progress = np.float64(pop.progress_km[r])
            km = min(time_left[i] * speed, length - progress)
            done_km = progress + km
            pop.progress_km[r] = done_km
            dies = u_death[i] < -math.expm1(link_stacked[2, lk] * km)
            caught = group_uniform_one(group[i], catch_key) < -math.expm1(
                link_stacked[3, lk] * km * exposure[i]
            )
            if dies:  # record_deaths, then leave for good
                today.link_counts[codes.deaths_link, lk] += 1
                today.flows[codes.deaths_by_mode[net.link_mode[lk]], pop.place[r], pop.nationality[r]] += 1
                leave_for_good(r, codes.deaths, day, pop, today)
            elif caught and not pop.papers_until[r] > day:
                catch(r, day, pop)
                caught_out[n_caught] = r
                n_caught += 1
            elif done_km >= length - eps_km:
                cur[m], link[m] = r, lk
                time_left[m] = time_left[i] - km / speed
                group[m], goal[m], choice[m], exposure[m] = group[i], goal[i], choice[i], exposure[i]
                m += 1
        for i in range(m):
            _arrive(cur[i], link[i], day, pop, net, today, codes)
        # Who goes straight on (start_on_links draws its key even for no one).
        on_key = new_key(rng)
        route_key = new_key(rng)
        n = 0
        for i in range(m):
            r = cur[i]
            here = int(pop.place[r])
            if (
                here != goal[i]
                and time_left[i] > 1e-6
                and group_uniform_one(group[i], on_key) < continue_probability
                and start_on_link(
                    r, int(choice[i] + here), here, group_uniform_one(group[i], route_key), day, pop, routes
                )
            ):
                cur[n] = r
                time_left[n] = time_left[i]
                group[n], goal[n], choice[n], exposure[n] = group[i], goal[i], choice[i], exposure[i]
                n += 1
    return caught_out[:n_caught]


@numba.njit(cache=True)
def decide_day(
    rng_box: RngBox,
    day: int,
    active: Array,
    caravans_active: bool,
    pop: PopArrays,
    routes: Routes,
    net: Net,
    give_up_probability_per_day: float,
    give_up_growth_per_attempt: float,
    settle_share: float,
    rest_days_after_arrival: int,
    move_on_probability_per_day: float,
    visa_queue_open: bool,
    visa_key: np.uint64,
    visa_uptake: Array,
    visa_place: Array,
    today: Today,
    codes: Codes,
) -> None:
    """:func:`corridor.engine.phases.decide.decide`: the free people waiting decide.

    The NumPy phase draws four keys with nothing drawn between them (give up, settle, move
    on, route), so they are drawn first here and each row then goes through the steps once.
    """
    rng = rng_box.rng
    n_places = routes.out_links.shape[0]
    quit_key = new_key(rng)
    settle_key = new_key(rng)
    move_key = new_key(rng)
    route_key = new_key(rng)
    for r in select(active, WAITING, caravans_active, pop):
        g = pop.group[r]
        p_quit = give_up_probability_per_day * (
            1.0 + give_up_growth_per_attempt * np.float64(pop.attempts[r])
        )
        if group_uniform_one(g, quit_key) < p_quit:  # give_up
            settles = group_uniform_one(g, settle_key) < settle_share
            leave_for_good(r, codes.settled if settles else codes.returned_home, day, pop, today)
            continue
        here = int(pop.place[r])
        if here == net.destinations[pop.destination[r]]:
            continue
        if (  # queuing_for_visa
            visa_queue_open
            and group_uniform_one(g, visa_key) < visa_uptake[pop.nationality[r]]
            and visa_place[here]
            and not pop.papers_until[r] > day
        ):
            continue
        if not (day - pop.since[r] >= rest_days_after_arrival and pop.next_day[r] <= day):
            continue
        if group_uniform_one(g, move_key) < move_on_probability_per_day:  # set_off
            row = choice_row_of_place0(r, day, pop, n_places) + here
            start_on_link(r, row, here, group_uniform_one(g, route_key), day, pop, routes)


@numba.njit(cache=True)
def raids_day(
    rng_box: RngBox,
    day: int,
    active: Array,
    pop: PopArrays,
    raid_probability: Array,
    interdiction_factor: Array,
    caravan_factor: float,
    caravans_active: bool,
) -> Array:
    """:func:`corridor.engine.phases.move.raids` for the people waiting; returns the rows
    caught, in order."""
    rng = rng_box.rng
    rows = select(active, WAITING, False, pop)
    caught_out = np.empty(rows.size, dtype=np.intp)
    key = new_key(rng)
    n_caught = 0
    for r in rows:
        if pop.papers_until[r] > day:
            continue
        p = raid_probability[pop.place[r]] * interdiction_factor[pop.nationality[r]]
        if caravans_active and pop.caravan[r] >= 0:
            p = p * caravan_factor
        if group_uniform_one(pop.group[r], key) < p:
            catch(r, day, pop)
            caught_out[n_caught] = r
            n_caught += 1
    return caught_out[:n_caught]


@numba.njit(cache=True, inline="always")
def _arrive(r: int, link: int, day: int, pop: PopArrays, net: Net, today: Today, codes: Codes) -> None:
    """Row ``r`` reaches the end of ``link``: the trip counted (record_trips), then waiting there."""
    today.link_counts[codes.trips_link, link] += 1
    today.flows[codes.trips_by_mode[net.link_mode[link]], net.link_from[link], pop.nationality[r]] += 1
    pop.place[r] = net.link_to[link]
    pop.link[r] = -1
    pop.progress_km[r] = 0.0
    pop.state[r] = WAITING
    pop.since[r] = day
