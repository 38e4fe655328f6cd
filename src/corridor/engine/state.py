"""The state of a run: :class:`Simulation` (the population arrays, the recorder, the day's
policy and route tables) and the small state objects the phases share (:class:`Caught`,
:class:`Caravan`).

This module imports no phase: the phases (:mod:`corridor.engine.phases`) import it, and the
day loop (:mod:`corridor.engine.core`) imports both. Each phase is a function
``phase(sim, day)`` that selects the agents it concerns with a mask, updates their arrays
through the helpers here (:meth:`Simulation.to_state`, :meth:`Simulation.leave`,
:meth:`Simulation.catch`) and counts what happened in the :class:`~corridor.metrics.Recorder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.engine.population import PRESENT_STATES, Population, State, create_population
from corridor.engine.randomness import new_key
from corridor.engine.routing import RouteTables, build_route_tables
from corridor.geography import TRAVEL_MODES
from corridor.metrics import PLACE_SERIES, STOCKS, Recorder, Results
from corridor.timeline import PolicyArrays, Timeline

__all__ = ["IS_PRESENT", "STOCK_OF_STATE", "STRANDED_AFTER_DAYS", "Caravan", "Caught", "Simulation"]

# Stock index of each state (or -1 for states that are not present).
STOCK_OF_STATE = np.full(max(State) + 1, -1, dtype=np.int8)
for _state, _name in zip(PRESENT_STATES, STOCKS, strict=True):
    STOCK_OF_STATE[_state] = STOCKS.index(_name)
IS_PRESENT = STOCK_OF_STATE >= 0
IS_PRESENT[State.CAUGHT] = True
#: Free or pending people count as ``stranded`` once their state is this old (days).
STRANDED_AFTER_DAYS = 7
_AT_A_PLACE = np.zeros(max(State) + 1, dtype=bool)
_AT_A_PLACE[[State.WAITING, State.ASYLUM_PENDING, State.BORDER_WAITING, State.MPP_WAITING]] = True


@dataclass(eq=False)
class Caravan:
    """A caravan on the move: members share its place, link and progress."""

    name: str
    place: int
    target: int
    link: int = -1
    progress_km: float = 0.0
    active: bool = True


@dataclass(eq=False)
class Caught:
    """People interdicted today (in state CAUGHT), waiting for the detention phase."""

    rows: list[npt.NDArray[np.intp]] = field(default_factory=list)

    def add(self, rows: npt.NDArray[np.intp]) -> None:
        if rows.size:
            self.rows.append(rows)

    def take(self) -> npt.NDArray[np.intp]:
        out = np.concatenate(self.rows) if self.rows else np.empty(0, dtype=np.intp)
        self.rows = []
        return out


@dataclass(eq=False)
class Simulation:
    """Everything one run mutates, plus the inputs it reads."""

    timeline: Timeline
    scale: float
    rng: np.random.Generator
    pop: Population
    recorder: Recorder
    occupancy: npt.NDArray[np.int64]  #: agents held per detention facility
    caught: Caught = field(default_factory=Caught)
    intent_keys: dict[str, np.uint64] = field(default_factory=dict)
    caravans: list[Caravan] = field(default_factory=list)
    caravan_formed_day: dict[int, int] = field(default_factory=dict)  #: place -> last formation day
    #: Rows that may be present (a superset: filter by state). Phases scan these, not everyone.
    active: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    #: Rows that may be away, waiting to re-enter (a superset: filter by state).
    away: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    policy: PolicyArrays | None = None
    routes: RouteTables | None = None
    _routes_by_segment: dict[int, RouteTables] = field(default_factory=dict)
    agent_steps: int = 0

    @classmethod
    def create(cls, timeline: Timeline, scale: float, seed: int) -> Simulation:
        """Draw the population and set up counters for a run."""
        rng = np.random.default_rng(seed)
        pop = create_population(timeline, scale, rng)
        net = timeline.network
        # Lasting intentions (to queue for a visa, to register with CBP One) are fixed per
        # group for the whole run: one key each.
        keys = {name: new_key(rng) for name in ("visa", "cbp_one")}
        return cls(
            intent_keys=keys,
            timeline=timeline,
            scale=scale,
            rng=rng,
            pop=pop,
            recorder=Recorder(timeline.n_days, net.n_places, len(timeline.nationalities), net.n_links),
            occupancy=np.zeros(net.detention_place.size, dtype=np.int64),
        )

    def set_policy(self, day: int) -> None:
        """Policy phase: bring in the day's policy and its route tables."""
        seg = int(self.timeline.segment_of_day[day])
        self.policy = self.timeline.segments[seg]
        if seg not in self._routes_by_segment:
            self._routes_by_segment[seg] = build_route_tables(self.timeline, self.policy)
        changed = self.routes is not self._routes_by_segment[seg]
        self.routes = self._routes_by_segment[seg]
        if changed and day > 0:
            self._stop_on_closed_links(day)

    def _stop_on_closed_links(self, day: int) -> None:
        """A route closed today: whoever is on it stops at the place they last left."""
        assert self.policy is not None
        pop, open_ = self.pop, self.policy.link_open
        rows = self.rows(State.IN_TRANSIT)
        stopped = rows[~open_[pop.link[rows]]]
        pop.link[stopped] = -1
        pop.progress_km[stopped] = 0.0
        self.to_state(stopped, State.WAITING, day)
        for caravan in self.caravans:
            if caravan.active and caravan.link >= 0 and not open_[caravan.link]:
                caravan.link, caravan.progress_km = -1, 0.0  # its members follow on their march

    def catch(self, rows: npt.NDArray[np.intp], day: int) -> None:
        """Interdict ``rows``: out of any caravan and off the road (at the place last left),
        in state CAUGHT so that no other phase acts on them before detention places them."""
        pop = self.pop
        pop.caravan[rows] = -1
        pop.link[rows] = -1
        pop.progress_km[rows] = 0.0
        self.to_state(rows, State.CAUGHT, day)
        self.caught.add(rows)

    def rows(self, *states: State) -> npt.NDArray[np.intp]:
        """Present rows in any of ``states`` (in the active index's order)."""
        a = self.active
        s = self.pop.state[a]
        mask = s == states[0]
        for st in states[1:]:
            mask |= s == st
        return a[mask]

    def admit_rows(self, rows: npt.NDArray[np.intp]) -> None:
        """Add entering rows to the active index, dropping rows no longer present."""
        a = self.active
        # Kept sorted so that the phases' gathers walk memory in order; both parts are
        # sorted runs, which the stable (merge) sort joins in linear time.
        self.active = np.sort(np.concatenate([a[IS_PRESENT[self.pop.state[a]]], rows]), kind="stable")

    def to_state(self, rows: npt.NDArray[np.intp], state: State, day: int) -> None:
        """Move ``rows`` into ``state`` as of ``day``."""
        self.pop.state[rows] = state
        self.pop.since[rows] = day

    def leave(self, rows: npt.NDArray[np.intp], flow: str, day: int, may_return: bool) -> None:
        """Take ``rows`` out of the system through exit ``flow``.

        With ``may_return`` (deportation, removal) each person comes back with their
        nationality's re-entry probability after an exponential delay; the others are gone.
        """
        pop, t = self.pop, self.timeline
        self.recorder.add(day, flow, pop.place[rows], pop.nationality[rows])
        pop.link[rows] = -1
        pop.progress_km[rows] = 0.0
        pop.caravan[rows] = -1
        pop.office[rows] = -1
        pop.appointment[rows] = False
        pop.papers_until[rows] = 0
        if not may_return or rows.size == 0:
            self.to_state(rows, State.GONE, day)
            return
        back = self.rng.random(rows.size) < t.reentry_probability[pop.nationality[rows]]
        delay = 1 + self.rng.exponential(t.scenario.behaviour.reentry_delay_days, rows.size)
        self.to_state(rows, State.GONE, day)
        returning = rows[back]
        pop.state[returning] = State.AWAY
        self.away = np.concatenate([self.away, returning])
        pop.next_day[returning] = np.minimum(day + delay[back], np.iinfo(np.int16).max).astype(np.int16)

    def record(self, day: int) -> None:
        """Record phase: end-of-day stocks and capacities."""
        pop = self.pop
        stock = STOCK_OF_STATE[pop.state[self.active]]
        rows = self.active[stock >= 0]
        self.recorder.set_stocks(day, stock[stock >= 0], pop.place[rows], pop.nationality[rows])
        assert self.policy is not None
        assert not self.caught.rows, "the detention phase places everyone caught the same day"
        net, rec = self.timeline.network, self.recorder
        members = rows[pop.caravan[rows] >= 0]
        rec.set_extra(day, "in_caravan", pop.place[members], pop.nationality[members])
        listed = rows[
            (pop.state[rows] == State.BORDER_WAITING) & (self.policy.metering_intake[pop.place[rows]] > 0)
        ]
        rec.set_extra(day, "metering_waitlist", pop.place[listed], pop.nationality[listed])
        stuck = rows[_AT_A_PLACE[pop.state[rows]] & (day - pop.since[rows] >= STRANDED_AFTER_DAYS)]
        rec.set_extra(day, "stranded", pop.place[stuck], pop.nationality[stuck])
        filed = rows[pop.state[rows] == State.ASYLUM_PENDING]
        rec.add_asylum_waits(day, "pending", day - pop.since[filed].astype(np.int64))
        rec.place_series[day, PLACE_SERIES.index("detention_capacity")] = np.bincount(
            net.detention_place, weights=self.policy.detention_capacity_persons, minlength=net.n_places
        )
        rec.place_series[day, PLACE_SERIES.index("shelter_capacity")] = self.policy.shelter_capacity
        self.agent_steps += rows.size

    def results(self) -> Results:
        """The run's results (in persons)."""
        t, rec = self.timeline, self.recorder
        return Results(
            dates=t.dates,
            places=list(t.network.place_names),
            nationalities=list(t.nationalities),
            scale=self.scale,
            flows=rec.flows,
            stocks=rec.stocks,
            extra_stocks=rec.extra_stocks,
            present_agents=rec.present,
            place_series=rec.place_series,
            place_kinds=[str(k) for k in t.network.place_kind],
            asylum_wait_counts=rec.asylum_waits,
            link_counts=rec.link_counts,
            links=pd.DataFrame(
                {
                    "route": t.network.link_route.astype(np.int64),
                    "travel_mode": np.asarray(TRAVEL_MODES)[t.network.link_mode],
                }
            ),
            routes_table=pd.DataFrame(
                {
                    "from": np.asarray(t.network.place_names)[t.network.route_from],
                    "to": np.asarray(t.network.place_names)[t.network.route_to],
                    "route_mode": t.network.route_mode,
                }
            ),
        )
