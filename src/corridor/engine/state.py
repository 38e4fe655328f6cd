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
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.engine.accelerate import compiled_kernels
from corridor.engine.population import PRESENT_STATES, Population, State, create_population
from corridor.engine.randomness import new_key
from corridor.engine.routing import RouteTables, build_route_tables
from corridor.geography import TRAVEL_MODES
from corridor.metrics import (
    ASYLUM_WAIT_EDGES,
    ASYLUM_WAIT_OUTCOMES,
    EXTRA_STOCKS,
    PLACE_SERIES,
    STOCKS,
    Recorder,
    Results,
)
from corridor.timeline import PolicyArrays, Timeline

__all__ = [
    "IS_PRESENT",
    "STOCK_OF_STATE",
    "STRANDED_AFTER_DAYS",
    "WAIT_EDGES",
    "Caravan",
    "Caught",
    "LinkTables",
    "Simulation",
]

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
#: The extra stocks the record kernel counts, in the order it takes them.
_EXTRA_COUNTED = ("in_caravan", "metering_waitlist", "stranded")
#: :data:`~corridor.metrics.ASYLUM_WAIT_EDGES` as an array (for the kernels)
WAIT_EDGES = np.asarray(ASYLUM_WAIT_EDGES, dtype=np.int64)


_WANTED: dict[tuple[State, ...], npt.NDArray[np.bool_]] = {}


def _wanted(states: tuple[State, ...]) -> npt.NDArray[np.bool_]:
    """A flag per state, set for ``states`` (built once per combination)."""
    if states not in _WANTED:
        flags = np.zeros(max(State) + 1, dtype=bool)
        flags[list(states)] = True
        _WANTED[states] = flags
    return _WANTED[states]


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


@dataclass(frozen=True, eq=False)
class LinkTables:
    """Per-link numbers the move phase reads, gathered once per policy segment rather than
    once per hop: one ``take`` of the stacked rows gives all four for the links in use."""

    #: (4, link) float64 rows: speed (km/day), length (km), minus the death hazard (per
    #: km), minus the interdiction hazard (per km). Negated so that ``(-h) * km`` is one
    #: multiplication; IEEE negation is exact, so ``(-h) * km == -(h * km)`` bit for bit.
    stacked: npt.NDArray[np.float64]

    @classmethod
    def build(cls, timeline: Timeline, policy: PolicyArrays) -> LinkTables:
        """The tables under ``policy``."""
        net = timeline.network
        return cls(
            np.stack(
                [
                    timeline.speed_km_per_day[net.link_mode],
                    net.link_distance_km.astype(np.float64),
                    -timeline.link_death_hazard_per_km,
                    -policy.link_interdiction_hazard_per_km,
                ]
            ).astype(np.float64)
        )


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
    links: LinkTables | None = None  #: the day's per-link tables (set with the policy)
    _links_by_segment: dict[int, LinkTables] = field(default_factory=dict)
    _tables_by_inputs: dict[bytes, tuple[RouteTables, LinkTables]] = field(default_factory=dict)
    agent_steps: int = 0
    #: :mod:`corridor.engine.kernels` where the compiled phases run, else None (NumPy's)
    kernels: ModuleType | None = None
    #: what the kernels take, built once (population, network, counters' indices) or per
    #: route tables: a kernel's NamedTuples, where the kernels run
    kernel_inputs: dict[str, Any] = field(default_factory=dict)

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
            kernels=compiled_kernels(),
        )

    def __post_init__(self) -> None:
        k = self.kernels
        if k is not None:
            inputs = {"pop": k.pop_of(self.pop), "net": k.net_of(self.timeline), "codes": k.codes_of()}
            self.kernel_inputs.update(inputs, rng=k.RngBox(self.rng))

    def set_policy(self, day: int) -> None:
        """Policy phase: bring in the day's policy and its route tables."""
        seg = int(self.timeline.segment_of_day[day])
        self.policy = self.timeline.segments[seg]
        if seg not in self._routes_by_segment:
            self._routes_by_segment[seg], self._links_by_segment[seg] = self._tables_for(self.policy)
        changed = self.routes is not self._routes_by_segment[seg]
        self.routes = self._routes_by_segment[seg]
        self.links = self._links_by_segment[seg]
        if changed and self.kernels is not None:
            self.kernel_inputs["routes"] = self.kernels.routes_of(self.routes)
        if changed and day > 0:
            self._stop_on_closed_links(day)

    def _tables_for(self, policy: PolicyArrays) -> tuple[RouteTables, LinkTables]:
        """The route and link tables under ``policy``, shared by segments with the same inputs.

        Most policy changes (asylum, visas, the border) leave the links alone: the tables
        are built once per distinct set of the arrays they read (open links, checkpoint
        hazards, detention capacities and transfer reach), not once per segment. Two
        consecutive segments sharing tables have the same open links, so no one can be on
        a newly closed link between them and skipping ``_stop_on_closed_links`` changes
        nothing.
        """
        key = b"".join(
            np.ascontiguousarray(a).tobytes()
            for a in (
                policy.link_open,
                policy.link_interdiction_hazard_per_km,
                policy.detention_capacity_persons,
                np.asarray(policy.detention_transfer_max_km, dtype=np.float64),
            )
        )
        if key not in self._tables_by_inputs:
            self._tables_by_inputs[key] = (
                build_route_tables(self.timeline, policy),
                LinkTables.build(self.timeline, policy),
            )
        return self._tables_by_inputs[key]

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
        if rows.size == 0:  # the usual case: skip the (costly, per call) empty assignments
            return
        pop = self.pop
        pop.caravan[rows] = -1
        pop.link[rows] = -1
        pop.progress_km[rows] = 0.0
        self.to_state(rows, State.CAUGHT, day)
        self.caught.add(rows)

    def rows(self, *states: State) -> npt.NDArray[np.intp]:
        """Present rows in any of ``states`` (in the active index's order)."""
        if self.kernels is not None:
            return self.kernels.rows_in(self.active, self.pop.state, _wanted(states), self.pop.caravan, False)
        a = self.active
        s = self.pop.state[a]
        mask = s == states[0]
        for st in states[1:]:
            mask |= s == st
        return a[mask]

    def free_rows(self, *states: State) -> npt.NDArray[np.intp]:
        """:meth:`rows` in any of ``states`` who walk on their own (not in a caravan).

        Only members of an active caravan have a caravan id (disbanding or leaving one
        resets it), so on the many days without one, the filter is skipped.
        """
        in_caravans = self.in_caravans()
        if self.kernels is not None:
            pop = self.pop
            return self.kernels.rows_in(self.active, pop.state, _wanted(states), pop.caravan, in_caravans)
        rows = self.rows(*states)
        if in_caravans:
            rows = rows[self.pop.caravan[rows] < 0]
        return rows

    def in_caravans(self) -> bool:
        """Whether a caravan is on the move (else no one is in one)."""
        return any(c.active for c in self.caravans)

    def admit_rows(self, rows: npt.NDArray[np.intp]) -> None:
        """Add entering rows to the active index, dropping rows no longer present."""
        a = self.active
        # Kept sorted so that the phases' gathers walk memory in order; both parts are
        # sorted runs, which the stable (merge) sort joins in linear time.
        self.active = np.sort(np.concatenate([a[IS_PRESENT[self.pop.state[a]]], rows]), kind="stable")

    def count_by_kind(
        self,
        day: int,
        flow_of_kind: npt.NDArray[np.intp],
        kind: npt.NDArray[np.integer],
        place: npt.NDArray[np.integer],
        nationality: npt.NDArray[np.integer],
    ) -> None:
        """Count one event per element into flow ``flow_of_kind[kind]`` on ``day``.

        The same counts as one :meth:`~corridor.metrics.Recorder.add` per kind (e.g. per
        travel mode), in one ``bincount``: a day makes thousands of these calls on a few
        dozen agents, where each NumPy call's overhead is what costs.
        """
        if place.size == 0:
            return
        rec = self.recorder
        cells = rec.n_places * rec.n_nationalities
        key = (kind.astype(np.intp) * rec.n_places + place) * rec.n_nationalities + nationality
        counts = np.bincount(key, minlength=flow_of_kind.size * cells).astype(np.int32)
        rec.flows[day, flow_of_kind] += counts.reshape(flow_of_kind.size, rec.n_places, rec.n_nationalities)

    def to_state(self, rows: npt.NDArray[np.intp], state: State, day: int) -> None:
        """Move ``rows`` into ``state`` as of ``day``."""
        if rows.size == 0:
            return
        self.pop.state[rows] = state
        self.pop.since[rows] = day

    def leave(self, rows: npt.NDArray[np.intp], flow: str, day: int, may_return: bool) -> None:
        """Take ``rows`` out of the system through exit ``flow``.

        With ``may_return`` (deportation, removal) each person comes back with their
        nationality's re-entry probability after an exponential delay; the others are gone.
        """
        if rows.size == 0:  # nothing to count or draw (no draws are made for no one)
            return
        pop, t = self.pop, self.timeline
        self.recorder.add(day, flow, pop.place[rows], pop.nationality[rows])
        pop.link[rows] = -1
        pop.progress_km[rows] = 0.0
        pop.caravan[rows] = -1
        pop.office[rows] = -1
        pop.appointment[rows] = False
        pop.papers_until[rows] = 0
        if not may_return:
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
        """Record phase: end-of-day stocks and capacities.

        Each present agent's (place, nationality) cell is computed once and every count of
        the day is a ``bincount`` of it: the same numbers as the Recorder's ``set_stocks``
        and ``set_extra``, written straight into its arrays, in fewer NumPy calls.
        """
        pop, rec = self.pop, self.recorder
        assert self.policy is not None
        assert not self.caught.rows, "the detention phase places everyone caught the same day"
        if self.kernels is not None:
            extra = rec.extra_stocks[day]
            present = self.kernels.record_day(
                day, self.active, self.kernel_inputs["pop"], STOCK_OF_STATE, _AT_A_PLACE,
                STRANDED_AFTER_DAYS, self.policy.metering_list, self.in_caravans(),
                rec.stocks[day], *(extra[EXTRA_STOCKS.index(name)] for name in _EXTRA_COUNTED),
                rec.asylum_waits[day], ASYLUM_WAIT_OUTCOMES.index("pending"), WAIT_EDGES,
                int(State.BORDER_WAITING), int(State.ASYLUM_PENDING),
            )  # fmt: skip
            rec.present[day] = present
            self._record_capacities(day)
            self.agent_steps += present
            return
        state = pop.state[self.active]
        stock = STOCK_OF_STATE[state]
        present = stock >= 0
        rows, stock, state = self.active[present], stock[present], state[present]
        place = pop.place[rows]
        n_cells = rec.n_places * rec.n_nationalities
        cell = place.astype(np.intp) * rec.n_nationalities + pop.nationality[rows]
        by_stock = np.bincount(stock.astype(np.intp) * n_cells + cell, minlength=len(STOCKS) * n_cells)
        rec.stocks[day] = by_stock.reshape(len(STOCKS), rec.n_places, rec.n_nationalities)
        rec.present[day] = rows.size

        listed = (state == State.BORDER_WAITING) & self.policy.metering_list[place]
        stuck = _AT_A_PLACE[state] & (day - pop.since[rows] >= STRANDED_AFTER_DAYS)
        extras = [("metering_waitlist", listed), ("stranded", stuck)]
        if any(c.active for c in self.caravans):  # else no one is in one: the row stays 0
            extras.append(("in_caravan", pop.caravan[rows] >= 0))
        for name, counted in extras:
            by_cell = np.bincount(cell[counted], minlength=n_cells)
            rec.extra_stocks[day, EXTRA_STOCKS.index(name)] = by_cell.reshape(
                rec.n_places, rec.n_nationalities
            )
        filed = rows[state == State.ASYLUM_PENDING]
        rec.add_asylum_waits(day, "pending", day - pop.since[filed].astype(np.int64))
        self._record_capacities(day)
        self.agent_steps += rows.size

    def _record_capacities(self, day: int) -> None:
        """Today's detention and shelter capacities by place (persons)."""
        assert self.policy is not None
        rec, net = self.recorder, self.timeline.network
        rec.place_series[day, PLACE_SERIES.index("detention_capacity")] = np.bincount(
            net.detention_place, weights=self.policy.detention_capacity_persons, minlength=net.n_places
        )
        rec.place_series[day, PLACE_SERIES.index("shelter_capacity")] = self.policy.shelter_capacity

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
