"""The simulated population: one row per agent, one NumPy array per attribute.

An agent stands for ``scale`` persons who arrive, travel and meet the same fate together.
Rows are created once, for every first arrival of the horizon, sorted by arrival day, so
that a day's arrivals are a contiguous block. A person deported and coming back re-uses
their row (their ``attempts`` grow), so memory follows distinct persons, not events.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from corridor.timeline import Timeline

__all__ = ["PRESENT_STATES", "Population", "State", "count_attempt", "create_population", "has_papers"]


class State(IntEnum):
    """What an agent is doing; each agent is in exactly one state each day."""

    NOT_ARRIVED = 0  #: first arrival still ahead
    IN_TRANSIT = 1  #: on a link between places (counted at the place last left)
    WAITING = 2  #: free at a place: resting, working, stranded
    DETAINED = 3  #: held in a detention station
    ASYLUM_PENDING = 4  #: filed with COMAR, bound to the state (instrument issue)
    BORDER_WAITING = 5  #: at a northern border city on a list (instrument issue)
    MPP_WAITING = 6  #: returned to Mexico under MPP (instrument issue)
    AWAY = 7  #: deported or removed, will come back on ``next_day``
    GONE = 8  #: left the system for good
    CAUGHT = 9  #: caught today, held until the detention phase places them (never seen at day's end)


#: States that make up ``present`` (people in the system, at a place in Mexico or its borders).
PRESENT_STATES: tuple[State, ...] = (
    State.IN_TRANSIT,
    State.WAITING,
    State.DETAINED,
    State.ASYLUM_PENDING,
    State.BORDER_WAITING,
    State.MPP_WAITING,
)


@dataclass(eq=False)
class Population:
    """Arrays of agent attributes (all of length ``n``)."""

    nationality: npt.NDArray[np.int8]  #: index into Timeline.nationalities
    minor: npt.NDArray[np.bool_]  #: under 18
    group: npt.NDArray[np.int32]  #: family/travel group id; groups share random draws
    destination: npt.NDArray[np.int8]  #: index into Timeline.destinations
    bus_access: npt.NDArray[np.bool_]  #: can pay for buses (money or papers)
    state: npt.NDArray[np.int8]  #: a State
    place: npt.NDArray[np.int16]  #: current place, or place last left while in transit
    link: npt.NDArray[np.int16]  #: link travelled while in transit, else -1
    progress_km: npt.NDArray[np.float32]  #: km done on the current link
    since: npt.NDArray[np.int16]  #: day index the current state began
    attempts: npt.NDArray[np.int8]  #: detentions, removals and returns so far
    facility: npt.NDArray[np.int8]  #: detention facility while detained, else -1
    office: npt.NDArray[np.int8]  #: asylum office while pending, else -1
    papers_until: npt.NDArray[np.int16]  #: papers (visa, recognition, travel permit) valid before this day
    caravan: npt.NDArray[np.int16]  #: caravan id while a member, else -1
    appointment: npt.NDArray[np.bool_]  #: holds a CBP One appointment at their destination port
    #: day of (re-)entry (NOT_ARRIVED, AWAY), of the MPP hearing, or (WAITING after busing
    #: south) the first day they may set out again
    next_day: npt.NDArray[np.int16]
    arrival_offsets: npt.NDArray[np.int64]  #: rows of day d's first arrivals: [off[d], off[d+1])

    @property
    def n(self) -> int:
        """Number of agents."""
        return int(self.state.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-agent arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self) if f.name != "arrival_offsets")


def stochastic_round(x: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Round to an integer up or down at random so the expectation is ``x``."""
    base = np.floor(x)
    return (base + (rng.random(x.shape) < (x - base))).astype(np.int64)


def create_population(timeline: Timeline, scale: float, rng: np.random.Generator) -> Population:
    """Draw every first arrival of the horizon and its attributes.

    Parameters
    ----------
    timeline : Timeline
    scale : float
        Persons per agent.
    rng : numpy.random.Generator
    """
    t = timeline
    counts = stochastic_round(t.arrivals_persons / scale, rng)  # (day, nationality, place)
    # Each attribute from a stream of its own, in arrival order: the first k people's draws do
    # not depend on how many arrive after them, so a policy that changes later arrivals (through
    # deterrence) changes nothing before its date. ``spawn`` leaves ``rng`` where it was.
    group_rng, destination_rng, bus_rng, minor_rng = rng.spawn(4)
    n_days, n_nat, n_places = counts.shape
    flat = counts.reshape(-1)
    block = np.repeat(np.arange(flat.size), flat)
    n = int(block.size)
    day = (block // (n_nat * n_places)).astype(np.int16)
    nationality = ((block // n_places) % n_nat).astype(np.int8)
    place = (block % n_places).astype(np.int16)

    # Groups form among people entering together (same day, nationality and place);
    # sizes are geometric with the scenario's mean.
    new_group = group_rng.random(n) < 1.0 / t.scenario.population.group_size_mean
    if n:
        new_group[0] = True
        new_group[1:] |= block[1:] != block[:-1]
    group = (np.cumsum(new_group) - 1).astype(np.int32)
    n_groups = int(group[-1]) + 1 if n else 0
    group_dest = np.searchsorted(t.destination_cdf, destination_rng.random(n_groups), side="right")
    group_bus_u = bus_rng.random(n_groups)

    offsets = np.zeros(n_days + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts.sum(axis=(1, 2)))
    return Population(
        nationality=nationality,
        minor=minor_rng.random(n) < t.minor_share,
        group=group,
        destination=np.minimum(group_dest, t.destinations.size - 1).astype(np.int8)[group],
        bus_access=group_bus_u[group] < t.bus_access_share[nationality],
        state=np.full(n, State.NOT_ARRIVED, dtype=np.int8),
        place=place,
        link=np.full(n, -1, dtype=np.int16),
        progress_km=np.zeros(n, dtype=np.float32),
        since=np.zeros(n, dtype=np.int16),
        attempts=np.zeros(n, dtype=np.int8),
        facility=np.full(n, -1, dtype=np.int8),
        office=np.full(n, -1, dtype=np.int8),
        papers_until=np.zeros(n, dtype=np.int16),
        caravan=np.full(n, -1, dtype=np.int16),
        appointment=np.zeros(n, dtype=bool),
        next_day=day,
        arrival_offsets=offsets,
    )


def has_papers(pop: Population, rows: npt.NDArray[np.intp], day: int) -> npt.NDArray[np.bool_]:
    """Whether each of ``rows`` holds valid papers (not detained at checkpoints or in raids)."""
    return pop.papers_until[rows] > day


def count_attempt(pop: Population, rows: npt.NDArray[np.intp]) -> None:
    """Add one failed attempt (detention, return to Mexico) to ``rows``, saturating at 127."""
    if rows.size == 0:
        return
    pop.attempts[rows] = np.minimum(pop.attempts[rows].astype(np.int16) + 1, 127).astype(np.int8)
