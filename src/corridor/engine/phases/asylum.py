"""Asylum in Mexico (COMAR): applications, a queue per office, decisions and abandonment.

Free people waiting at a place with an open office file with their nationality's daily
``application_probability_per_day``; they then wait in state ``asylum_pending`` at the
office's place: applicants must stay in the state where they filed until decided, which is
what strands people in Chiapas. Each open office decides ``decisions_per_day`` cases a day,
oldest first. Recognised refugees get papers (no detention, buses allowed) and settle in
Mexico with ``settle_after_recognition_share``, else travel on; rejected applicants are free
again without papers. Applicants give up waiting with ``abandonment_probability_per_day``.
"""

from __future__ import annotations

import numpy as np

from corridor.engine.population import State, count_attempt, has_papers
from corridor.engine.queues import admit, daily_capacity
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.state import WAIT_EDGES, Simulation


def asylum(sim: Simulation, day: int) -> None:
    """Asylum phase: abandonment, the day's decisions, then new applications (compiled where
    :mod:`corridor.engine.kernels` runs: :func:`corridor.engine.kernels.asylum_day`)."""
    if sim.kernels is not None:
        policy, inputs = sim.policy, sim.kernel_inputs
        assert policy is not None
        ap = policy.policy.asylum
        sim.kernels.asylum_day(
            inputs["rng"], day, sim.active, inputs["pop"], sim.scale, ap.abandonment_probability_per_day,
            policy.asylum_office_place, policy.asylum_office_days,
            policy.asylum_decisions_per_day, policy.asylum_recognition_share,
            ap.papers_validity_days, ap.settle_after_recognition_share,
            policy.asylum_application_probability, sim.timeline.network.n_places, WAIT_EDGES,
            sim.kernels.today_of(sim.recorder, day), inputs["codes"],
        )  # fmt: skip
        return
    pop = sim.pop
    policy = sim.policy
    assert policy is not None
    ap = policy.policy.asylum
    n_offices = policy.asylum_office_place.size
    pending = sim.rows(State.ASYLUM_PENDING)
    if n_offices == 0 and pending.size == 0:
        return

    # Abandonment: they move on, without papers.
    quit_ = group_uniform(pop.group[pending], new_key(sim.rng)) < ap.abandonment_probability_per_day
    if quit_.any():
        gone = pending[quit_]
        sim.recorder.add(day, "asylum_abandoned", pop.place[gone], pop.nationality[gone])
        sim.recorder.add_asylum_waits(day, "abandoned", day - pop.since[gone].astype(np.int64))
        pop.office[gone] = -1
        sim.to_state(gone, State.WAITING, day)
        pending = pending[~quit_]

    # Decisions: each open office decides its capacity, oldest cases first.
    is_open = (policy.asylum_office_days[:, 0] <= day) & (day < policy.asylum_office_days[:, 1])
    capacity = daily_capacity(policy.asylum_decisions_per_day, sim.scale, sim.rng) * is_open
    office = pop.office[pending].astype(np.intp)
    valid = (office >= 0) & (office < n_offices)
    pending, office = pending[valid], office[valid]
    decided, _ = admit(capacity, server=office, by=(pop.since[pending], pending)).take(pending)
    recognition_key, settle_key = new_key(sim.rng), new_key(sim.rng)
    if decided.size:  # no decisions today: nothing to count, and no draws beyond the keys
        _decide(sim, day, decided, recognition_key, settle_key)
    _apply(sim, day, is_open)


def _decide(
    sim: Simulation, day: int, decided: np.ndarray, recognition_key: np.uint64, settle_key: np.uint64
) -> None:
    """The day's decisions: recognised refugees get papers and settle or travel on; the
    rejected are free again, without papers."""
    pop, policy = sim.pop, sim.policy
    assert policy is not None
    ap = policy.policy.asylum
    waited = (day - pop.since[decided]).astype(np.int64)
    sim.recorder.add_asylum_waits(day, "decided", waited)
    sim.recorder.add(day, "asylum_decisions", pop.place[decided], pop.nationality[decided])
    sim.recorder.add(
        day, "asylum_wait_person_days", pop.place[decided], pop.nationality[decided], weight=waited
    )
    recognised = (
        group_uniform(pop.group[decided], recognition_key)
        < policy.asylum_recognition_share[pop.nationality[decided]]
    )
    yes, no = decided[recognised], decided[~recognised]
    sim.recorder.add(day, "asylum_recognised", pop.place[yes], pop.nationality[yes])
    pop.office[decided] = -1
    pop.papers_until[yes] = min(day + ap.papers_validity_days, np.iinfo(np.int16).max)
    settle = group_uniform(pop.group[yes], settle_key) < ap.settle_after_recognition_share
    sim.leave(yes[settle], "settled", day, may_return=False)
    count_attempt(pop, no)
    sim.to_state(np.concatenate([yes[~settle], no]), State.WAITING, day)


def _apply(sim: Simulation, day: int, is_open: np.ndarray) -> None:
    """Applications: free people at a place with an open office file with their daily chance."""
    if not is_open.any():
        return
    pop, policy = sim.pop, sim.policy
    assert policy is not None
    office_at = np.full(sim.timeline.network.n_places, -1, dtype=np.int64)
    for o in np.flatnonzero(is_open)[::-1]:  # the first open office of a place wins
        office_at[policy.asylum_office_place[o]] = o
    rows = sim.rows(State.WAITING)
    rows = rows[(pop.caravan[rows] < 0) & (office_at[pop.place[rows]] >= 0) & ~has_papers(pop, rows, day)]
    files = (
        group_uniform(pop.group[rows], new_key(sim.rng))
        < policy.asylum_application_probability[pop.nationality[rows]]
    )
    applicants = rows[files]
    pop.office[applicants] = office_at[pop.place[applicants]]
    sim.to_state(applicants, State.ASYLUM_PENDING, day)
    sim.recorder.add(day, "asylum_applications", pop.place[applicants], pop.nationality[applicants])
