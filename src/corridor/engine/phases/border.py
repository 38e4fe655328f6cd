"""The US border: ports of entry (metering, CBP One), crossings between ports, US outcomes, MPP.

People reaching their northern border city decide once, the day after they arrive (or are
sent back), whether to put their name on a port's list: with the metering ``join_share``
where the city's port meters, or the CBP One ``uptake`` while appointments are given. On a
list they are ``border_waiting``; metered ports let in ``daily_intake`` a day, oldest first;
people give up the list with ``abandon_probability_per_day`` and cross between ports. CBP
One appointments (a national number a day) are drawn by lottery among registered people who
are in Mexico and, once ``north_of_19th_only`` holds, at a place north of the 19th parallel.
A booked person at their border city is admitted at the port at once; one elsewhere gets a
travel permit and is admitted on reaching it.

The others cross between ports with a daily probability (those taking an open legal pathway,
:func:`taking_pathway`, wait); the river or desert kills with
``river_crossing_death_probability``; the Border Patrol meets the rest with
``us_apprehension_probability`` (else ``us_evaded``). An encounter ends, by nationality's
shares, in release (exit), removal (exit, possible re-entry), expulsion to Mexico (Title 42:
with ``expelled_retry_probability`` they stay at the city and soon try again, else they go home,
exit ``returned_home``, possibly to come back like the removed) or, in MPP cities, return under
MPP to wait for a hearing (elsewhere that share is released). At the hearing, relief (exit ``us_released``)
or removal; people give up waiting with ``abandon_probability_per_day``.
"""

from __future__ import annotations

import numpy as np

from corridor.engine.phases.move import record_deaths
from corridor.engine.population import State, count_attempt, stochastic_round
from corridor.engine.queues import admit, daily_capacity
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.state import Simulation
from corridor.timeline import US_OUTCOMES

_RELEASED, _REMOVED, _EXPELLED, _MPP = (
    US_OUTCOMES.index(o) for o in ("released", "removed", "expelled", "mpp")
)


def _admit_at_port(sim: Simulation, rows: np.ndarray, day: int) -> None:
    sim.leave(rows, "us_admitted_port", day, may_return=False)


def lists(sim: Simulation, day: int, at_goal: np.ndarray) -> np.ndarray:
    """Joining and leaving port lists, metering intake, CBP One lottery.

    Returns the people at their border city who are free to cross between ports today.
    """
    pop = sim.pop
    policy = sim.policy
    assert policy is not None
    metering, cbp = policy.policy.metering, policy.policy.cbp_one
    nat = pop.nationality

    # Arrivals with an appointment go straight to the port.
    booked = pop.appointment[at_goal]
    if booked.any():
        _admit_at_port(sim, at_goal[booked], day)
        at_goal = at_goal[~booked]

    # Decide once, the day after arriving, whether to join a list; the others cross.
    # (Each step draws its key even when no one is concerned: later draws follow it.)
    fresh_at = np.flatnonzero(pop.since[at_goal] == day - 1)
    fresh = at_goal[fresh_at]
    key = new_key(sim.rng)
    crossers = at_goal
    if fresh.size:
        p_join = np.where(
            policy.metering_intake[pop.place[fresh]] > 0, policy.metering_join_share[nat[fresh]], 0.0
        )
        if cbp.appointments_per_day > 0:
            p_join = np.maximum(p_join, policy.cbp_one_uptake[nat[fresh]])
        join = group_uniform(pop.group[fresh], key) < p_join
        if join.any():
            sim.to_state(fresh[join], State.BORDER_WAITING, day)
            stays = np.ones(at_goal.size, dtype=bool)
            stays[fresh_at[join]] = False
            crossers = at_goal[stays]

    listed = sim.rows(State.BORDER_WAITING)
    gives_up = group_uniform(pop.group[listed], new_key(sim.rng)) < metering.abandon_probability_per_day
    if gives_up.any():
        leave = listed[gives_up]
        sim.to_state(leave, State.WAITING, day)
        crossers = np.concatenate([crossers, leave])  # giving up the list, they cross
        listed = listed[~gives_up]

    # Metering: each port lets in its daily intake, oldest names first.
    metered = listed[policy.metering_intake[pop.place[listed]] > 0]
    if metered.size:
        quota = daily_capacity(policy.metering_intake, sim.scale, sim.rng)
        port = pop.place[metered]
        admitted, _ = admit(quota, server=port, by=(pop.since[metered], metered)).take(metered)
        _admit_at_port(sim, admitted, day)

    return cbp_one_lottery(sim, day, crossers)


def cbp_one_lottery(sim: Simulation, day: int, crossers: np.ndarray) -> np.ndarray:
    """The day's CBP One appointments, drawn by lottery among registrants in Mexico (north of
    the 19th parallel once required); returns those of ``crossers`` still waiting to cross."""
    pop, t = sim.pop, sim.timeline
    policy = sim.policy
    assert policy is not None
    cbp, nat = policy.policy.cbp_one, pop.nationality
    if cbp.appointments_per_day > 0:
        net = t.network
        free = sim.rows(State.WAITING, State.BORDER_WAITING)
        free = free[(pop.caravan[free] < 0) & ~pop.appointment[free]]
        registered = (
            group_uniform(pop.group[free], sim.intent_keys["cbp_one"]) < policy.cbp_one_uptake[nat[free]]
        )
        eligible = free[
            (registered | (pop.state[free] == State.BORDER_WAITING))
            & (net.place_country[pop.place[free]] == "MX")
        ]
        if cbp.north_of_19th_only:
            eligible = eligible[net.north_of_19th[pop.place[eligible]]]
        n = int(stochastic_round(np.array(cbp.appointments_per_day / sim.scale), sim.rng))
        winners = eligible if eligible.size <= n else np.sort(sim.rng.choice(eligible, size=n, replace=False))
        sim.recorder.add(day, "cbp_one_bookings", pop.place[winners], nat[winners])
        here = pop.place[winners] == t.destinations[pop.destination[winners]]
        _admit_at_port(sim, winners[here], day)
        travelling = winners[~here]
        pop.appointment[travelling] = True
        pop.papers_until[travelling] = np.maximum(
            pop.papers_until[travelling], min(day + cbp.travel_permit_days, 32767)
        )
        crossers = crossers[pop.state[crossers] == State.WAITING]
    return crossers


def mpp_hearings(sim: Simulation, day: int) -> None:
    """People waiting under MPP: giving up, and the day's hearings."""
    pop = sim.pop
    assert sim.policy is not None
    mpp = sim.policy.policy.mpp
    rows = sim.rows(State.MPP_WAITING)
    quit_ = group_uniform(pop.group[rows], new_key(sim.rng)) < mpp.abandon_probability_per_day
    if quit_.any():
        sim.to_state(rows[quit_], State.WAITING, day)
        rows = rows[~quit_]
    heard = rows[pop.next_day[rows] <= day]
    relief_key = new_key(sim.rng)
    if heard.size:
        sim.recorder.add(day, "mpp_hearings", pop.place[heard], pop.nationality[heard])
        relief = group_uniform(pop.group[heard], relief_key) < mpp.relief_share
        sim.leave(heard[relief], "us_released", day, may_return=False)
        sim.leave(heard[~relief], "us_removed", day, may_return=True)


def border(sim: Simulation, day: int) -> None:
    """Border phase: lists and appointments, crossings between ports, US outcomes, MPP hearings.

    Compiled where :mod:`corridor.engine.kernels` runs, but for the CBP One lottery.
    """
    if sim.kernels is not None:
        _border_compiled(sim, day)
        return
    pop, t = sim.pop, sim.timeline
    policy = sim.policy
    assert policy is not None
    rows = sim.free_rows(State.WAITING)
    rows = rows[pop.place[rows] == t.destinations[pop.destination[rows]]]
    rows = rows[pop.since[rows] < day]  # people who stopped here today rest first
    rows = lists(sim, day, rows)

    p_cross = t.scenario.behaviour.border_crossing_probability_per_day
    crosses = group_uniform(pop.group[rows], new_key(sim.rng)) < p_cross
    if policy.legal_pathway_share.any():
        crosses &= ~taking_pathway(sim, rows)
    crossing = rows[crosses]
    drowned = sim.rng.random(crossing.size) < t.scenario.hazards.river_crossing_death_probability
    if drowned.any():
        record_deaths(sim, crossing[drowned], "river", day)
        crossing = crossing[~drowned]

    met = group_uniform(pop.group[crossing], new_key(sim.rng)) < policy.us_apprehension_probability
    sim.leave(crossing[~met], "us_evaded", day, may_return=False)
    outcome_key = new_key(sim.rng)
    encountered = crossing[met]
    if encountered.size:  # no one met: nothing to count, and no draws beyond the key
        us_outcomes(sim, day, encountered, outcome_key)
    mpp_hearings(sim, day)


def _border_compiled(sim: Simulation, day: int) -> None:
    """:func:`border` with :func:`corridor.engine.kernels.border_lists_day` and
    :func:`corridor.engine.kernels.border_cross_day` around the CBP One lottery."""
    k, t, policy, inputs = sim.kernels, sim.timeline, sim.policy, sim.kernel_inputs
    assert k is not None and policy is not None
    p, b, today = policy.policy, t.scenario.behaviour, k.today_of(sim.recorder, day)
    crossers = k.border_lists_day(
        inputs["rng"], day, sim.active, sim.in_caravans(), inputs["pop"], t.destinations, sim.scale,
        policy.metering_intake, policy.metering_join_share, p.cbp_one.appointments_per_day > 0,
        policy.cbp_one_uptake, p.metering.abandon_probability_per_day, today, inputs["codes"],
    )  # fmt: skip
    crossers = cbp_one_lottery(sim, day, crossers)
    pathway = (
        bool(policy.legal_pathway_share.any()), policy.legal_pathway_share, policy.legal_pathway_net_day,
        sim.pop.arrival_offsets, sim.intent_keys["cbp_one"] ^ _PATHWAY_SALT,
    )  # fmt: skip
    away = k.border_cross_day(
        inputs["rng"], day, crossers, sim.active, inputs["pop"], b.border_crossing_probability_per_day,
        pathway,
        t.scenario.hazards.river_crossing_death_probability, policy.us_apprehension_probability,
        policy.us_outcome_cdf, policy.mpp_city, b.expelled_retry_probability,
        (t.reentry_probability, b.reentry_delay_days),
        (p.mpp.hearing_delay_days, p.mpp.abandon_probability_per_day, p.mpp.relief_share), today,
        inputs["codes"],
    )  # fmt: skip
    if away.size:
        sim.away = np.concatenate([sim.away, away])


#: Salt of the lasting per-group draw of who takes a legal pathway: derived from the CBP One
#: intention's key, so that no draw is added to the run's stream (runs without pathways are as before).
_PATHWAY_SALT = np.uint64(0x5DEECE66D2B79F5)


def taking_pathway(sim: Simulation, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` take their nationality's open legal pathway and wait instead of
    crossing: a lasting decision per group, with the pathway's uptake, among those who first
    entered Mexico before the timeline's arrivals were net of its takers (before it opened, and
    in the ``demand_response.lag_days`` after, while the news spread:
    :func:`corridor.pathways.pathway_net_days`)."""
    pop, policy = sim.pop, sim.policy
    assert policy is not None
    nat = pop.nationality[rows]
    net_from = policy.legal_pathway_net_day[nat]
    first_day = np.searchsorted(pop.arrival_offsets, rows, side="right") - 1
    u = group_uniform(pop.group[rows], sim.intent_keys["cbp_one"] ^ _PATHWAY_SALT)
    return np.asarray((net_from >= 0) & (first_day < net_from) & (u < policy.legal_pathway_share[nat]))


def us_outcomes(sim: Simulation, day: int, encountered: np.ndarray, key: np.uint64) -> None:
    """What the Border Patrol does with the people it met: release, removal, expulsion, MPP."""
    pop = sim.pop
    policy = sim.policy
    assert policy is not None
    nat = pop.nationality[encountered]
    place = pop.place[encountered]
    sim.recorder.add(day, "us_encounters", place, nat)

    u = group_uniform(pop.group[encountered], key)
    outcome = (u[:, None] >= policy.us_outcome_cdf[nat]).sum(axis=1)
    outcome = np.minimum(outcome, len(US_OUTCOMES) - 1)
    outcome[(outcome == _MPP) & ~policy.mpp_city[place]] = _RELEASED
    sim.leave(encountered[outcome == _RELEASED], "us_released", day, may_return=False)
    sim.leave(encountered[outcome == _REMOVED], "us_removed", day, may_return=True)

    expelled = encountered[outcome == _EXPELLED]
    if expelled.size:
        sim.recorder.add(day, "us_expelled", pop.place[expelled], pop.nationality[expelled])
        count_attempt(pop, expelled)
        retry = sim.timeline.scenario.behaviour.expelled_retry_probability
        if retry < 1.0:  # else everyone stays, with no draw (runs without the setting are as before)
            stays = group_uniform(pop.group[expelled], new_key(sim.rng)) < retry
            sim.leave(expelled[~stays], "returned_home", day, may_return=True)
            expelled = expelled[stays]
        sim.to_state(expelled, State.WAITING, day)

    returned = encountered[outcome == _MPP]
    if returned.size:
        sim.recorder.add(day, "mpp_returns", pop.place[returned], pop.nationality[returned])
        count_attempt(pop, returned)
        sim.to_state(returned, State.MPP_WAITING, day)
        delay = 1 + sim.rng.exponential(policy.policy.mpp.hearing_delay_days, returned.size)
        pop.next_day[returned] = np.minimum(day + delay, np.iinfo(np.int16).max).astype(np.int16)
