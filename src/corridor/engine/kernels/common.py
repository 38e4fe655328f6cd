"""What the compiled phases share: the NamedTuples of arrays they take, the builders of
those from a run, the random draws (:func:`new_key`, :func:`group_uniform_one`) and the
per-row steps several phases make (leaving, being caught, counting an attempt, a queue's
order). The state and outcome codes are the compiled code's constants; the tests check them
against :class:`~corridor.engine.population.State` and :data:`~corridor.timeline.US_OUTCOMES`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
import numpy.typing as npt
from numba.core import types
from numba.experimental import structref

from corridor.metrics import ASYLUM_WAIT_OUTCOMES, FLOWS, LINK_COUNTS, Recorder, flows_by_travel_mode

__all__ = [
    "ASYLUM_PENDING",
    "AWAY",
    "BORDER_WAITING",
    "CAUGHT",
    "DETAINED",
    "EXPELLED",
    "GONE",
    "IN_TRANSIT",
    "MPP",
    "MPP_WAITING",
    "RELEASED",
    "REMOVED",
    "WAITING",
    "Array",
    "Codes",
    "Net",
    "PopArrays",
    "Routes",
    "Today",
    "choice_row_of_place0",
    "codes_of",
    "count_attempt",
    "count_wait",
    "group_uniform_one",
    "leave_for_good",
    "leave_may_return",
    "net_of",
    "new_key",
    "oldest_first",
    "pop_of",
    "round_at_random",
    "routes_of",
    "select",
    "start_on_link",
    "today_of",
]

Array = npt.NDArray[Any]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0
_INT63_MAX = 9223372036854775807

# State codes (corridor.engine.population.State) as the compiled code's constants (a cached
# kernel keeps them; tests/test_engine_kernels.py checks them against State).
IN_TRANSIT, WAITING, DETAINED, ASYLUM_PENDING, BORDER_WAITING = 1, 2, 3, 4, 5
MPP_WAITING, AWAY, GONE, CAUGHT = 6, 7, 8, 9
# US outcomes (corridor.timeline.US_OUTCOMES), likewise checked by the tests.
RELEASED, REMOVED, EXPELLED, MPP = 0, 1, 2, 3


class PopArrays(NamedTuple):
    """The :class:`~corridor.engine.population.Population` arrays a kernel reads or writes."""

    nationality: Array
    group: Array
    destination: Array
    bus_access: Array
    state: Array
    place: Array
    link: Array
    progress_km: Array
    since: Array
    attempts: Array
    facility: Array
    office: Array
    papers_until: Array
    caravan: Array
    appointment: Array
    next_day: Array


class Routes(NamedTuple):
    """The day's :class:`~corridor.engine.routing.RouteTables`, as the choice needs them."""

    cdf_rows: Array  #: (row, K + 1) cumulative choice probabilities, a sentinel 2.0 last
    out_links: Array  #: (place, K) outgoing links, -1 padded
    has_option: Array  #: per row of ``cdf_rows``


class Net(NamedTuple):
    """The network's link arrays and the destinations (place per destination index)."""

    link_to: Array
    link_from: Array
    link_mode: Array
    destinations: Array


class Today(NamedTuple):
    """Today's counters of the :class:`~corridor.metrics.Recorder` (views: writes count)."""

    flows: Array  #: (flow, place, nationality)
    link_counts: Array  #: (link count, link)
    asylum_waits: Array  #: (outcome, bin of days waited)


class Codes(NamedTuple):
    """Indices of the counters the kernels write (passed in, not compiled in, so that a cached
    kernel follows :data:`~corridor.metrics.FLOWS` if it changes). A field named as a flow
    is that flow's index."""

    deaths: int
    deaths_river: int
    settled: int
    returned_home: int
    asylum_abandoned: int
    asylum_decisions: int
    asylum_wait_person_days: int
    asylum_recognised: int
    asylum_applications: int
    us_admitted_port: int
    us_evaded: int
    us_encounters: int
    us_released: int
    us_removed: int
    us_expelled: int
    mpp_returns: int
    mpp_hearings: int
    interdictions: int
    detentions: int
    detention_transfers: int
    detention_overflow_released: int
    detention_overflow_bused_south: int
    deportations: int
    bused_south: int
    released: int
    trips_link: int  #: index into LINK_COUNTS
    deaths_link: int
    waits_decided: int  #: index into ASYLUM_WAIT_OUTCOMES
    waits_abandoned: int
    trips_by_mode: Array  #: flow of ``trips_<mode>`` per travel mode index
    deaths_by_mode: Array  #: flow of ``deaths_<mode>`` per travel mode index


@structref.register
class _RngBoxType(types.StructRef):
    """numba's type of :class:`RngBox`."""

    def preprocess_fields(self, fields: Any) -> Any:
        return tuple((name, types.unliteral(typ)) for name, typ in fields)  # type: ignore[no-untyped-call]


class RngBox(structref.StructRefProxy):
    """The run's ``numpy.random.Generator``, boxed once for the kernels.

    numba unboxes a Generator argument on every call through its ctypes interface (about
    10 microseconds, a dozen calls a day); a box made once per run is passed for about 1.
    The kernels draw from the very Generator it holds (``rng_box.rng``): NumPy's draws between
    kernels and the kernels' draws advance one stream.
    """

    rng: np.random.Generator  #: the field (a property that :func:`structref.define_proxy` adds)

    def __new__(cls, rng: np.random.Generator) -> RngBox:
        # Through a cached compiled function: StructRefProxy's own constructor is compiled
        # anew in every process (about 0.5 s).
        return _new_rng_box(rng)


structref.define_proxy(RngBox, _RngBoxType, ["rng"])  # type: ignore[no-untyped-call]


@numba.njit(cache=True)
def _new_rng_box(rng: np.random.Generator) -> RngBox:
    return RngBox(rng)


def pop_of(pop: Any) -> PopArrays:
    """The arrays of ``pop`` (a Population) that the kernels take."""
    return PopArrays(*(getattr(pop, name) for name in PopArrays._fields))


def routes_of(tables: Any) -> Routes:
    """The choice tables of ``tables`` (a RouteTables)."""
    return Routes(tables.cdf_rows, tables.out_links, tables.has_option.reshape(-1))


def net_of(timeline: Any) -> Net:
    """The link arrays and destinations of ``timeline``."""
    net = timeline.network
    return Net(net.link_to, net.link_from, net.link_mode, timeline.destinations)


def today_of(recorder: Recorder, day: int) -> Today:
    """Views of ``recorder``'s counters of ``day``."""
    return Today(recorder.flows[day], recorder.link_counts[day], recorder.asylum_waits[day])


def codes_of() -> Codes:
    """The counters' indices."""
    other = {
        "trips_link": LINK_COUNTS.index("trips"),
        "deaths_link": LINK_COUNTS.index("deaths"),
        "waits_decided": ASYLUM_WAIT_OUTCOMES.index("decided"),
        "waits_abandoned": ASYLUM_WAIT_OUTCOMES.index("abandoned"),
        "trips_by_mode": flows_by_travel_mode("trips"),
        "deaths_by_mode": flows_by_travel_mode("deaths"),
    }
    values: dict[str, Any] = {
        name: other.get(name, FLOWS.index(name) if name in FLOWS else None) for name in Codes._fields
    }
    return Codes(**values)


@numba.njit(cache=True, inline="always")
def new_key(rng: np.random.Generator) -> np.uint64:
    """:func:`corridor.engine.randomness.new_key`: one raw output shifted right by a bit,
    which is what ``integers(0, 2**63 - 1, endpoint=True)`` draws (it never rejects)."""
    return np.uint64(rng.integers(0, _INT63_MAX, 1, np.int64, True)[0])


@numba.njit(cache=True, inline="always")
def group_uniform_one(group: int, key: np.uint64) -> float:
    """:func:`corridor.engine.randomness.group_uniform` for one group id."""
    x = np.uint64(group) * _GOLDEN + key
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return float(x >> _S11) * _TO_UNIT


@numba.njit(cache=True, inline="always")
def select(active: Array, state: int, free_only: bool, pop: PopArrays) -> Array:
    """:meth:`~corridor.engine.state.Simulation.rows` of one state (``free_rows`` with
    ``free_only``: not in a caravan), in the active index's order."""
    out = np.empty(active.size, dtype=np.intp)
    n = 0
    for r in active:
        if pop.state[r] == state and not (free_only and pop.caravan[r] >= 0):
            out[n] = r
            n += 1
    return out[:n]


@numba.njit(cache=True, inline="always")
def catch(r: int, day: int, pop: PopArrays) -> None:
    """:meth:`~corridor.engine.state.Simulation.catch` of one row (the caller keeps the row)."""
    pop.caravan[r] = -1
    pop.link[r] = -1
    pop.progress_km[r] = 0.0
    pop.state[r] = CAUGHT
    pop.since[r] = day


@numba.njit(cache=True, inline="always")
def leave_for_good(r: int, flow: int, day: int, pop: PopArrays, today: Today) -> None:
    """:meth:`~corridor.engine.state.Simulation.leave` of one row, ``may_return=False``."""
    today.flows[flow, pop.place[r], pop.nationality[r]] += 1
    pop.link[r] = -1
    pop.progress_km[r] = 0.0
    pop.caravan[r] = -1
    pop.office[r] = -1
    pop.appointment[r] = False
    pop.papers_until[r] = 0
    pop.state[r] = GONE
    pop.since[r] = day


@numba.njit(cache=True, inline="always")
def leave_may_return(
    rows: Array,
    flow: int,
    day: int,
    reentry: tuple[Array, float],
    rng: np.random.Generator,
    pop: PopArrays,
    today: Today,
    away: Array,
    n_away: int,
) -> int:
    """:meth:`~corridor.engine.state.Simulation.leave` of ``rows`` with ``may_return``: one
    uniform each (who comes back, with ``reentry``'s probability by nationality), then one
    exponential delay each (its mean in days), as NumPy draws them. The rows coming back are
    added to ``away`` from ``n_away``; returns the new count."""
    if rows.size == 0:
        return n_away
    probability, delay_days = reentry
    back = np.empty(rows.size, dtype=np.bool_)
    for i in range(rows.size):
        back[i] = rng.random() < probability[pop.nationality[rows[i]]]
    for i in range(rows.size):
        delay = 1.0 + rng.exponential(delay_days)
        r = rows[i]
        leave_for_good(r, flow, day, pop, today)
        if back[i]:
            pop.state[r] = AWAY
            pop.next_day[r] = np.int16(min(day + delay, 32767.0))
            away[n_away] = r
            n_away += 1
    return n_away


@numba.njit(cache=True, inline="always")
def count_attempt(r: int, pop: PopArrays) -> None:
    """:func:`~corridor.engine.population.count_attempt` of one row (saturating at 127)."""
    pop.attempts[r] = min(np.int16(pop.attempts[r]) + 1, 127)


@numba.njit(cache=True, inline="always")
def count_wait(waits: Array, outcome: int, waited: int, edges: Array) -> None:
    """:meth:`~corridor.metrics.Recorder.add_asylum_waits` of one claim."""
    b = int(np.searchsorted(edges, waited, side="right")) - 1
    waits[outcome, max(b, 0)] += 1


@numba.njit(cache=True, inline="always")
def round_at_random(x: float, rng: np.random.Generator) -> int:
    """:func:`~corridor.engine.population.stochastic_round` of one number (one draw)."""
    base = np.floor(x)
    return int(base + (1.0 if rng.random() < x - base else 0.0))


@numba.njit(cache=True, inline="always")
def oldest_first(candidates: Array, n: int, pop: PopArrays) -> Array:
    """``candidates[:n]`` ordered by (since, row): the queues' ``admit(by=(since, rows))``."""
    keys = np.empty(n, dtype=np.int64)
    for i in range(n):
        r = candidates[i]
        keys[i] = (np.int64(pop.since[r]) << 32) | r
    return np.sort(keys) & 0xFFFFFFFF


@numba.njit(cache=True, inline="always")
def start_on_link(r: int, row: int, here: int, u: float, day: int, pop: PopArrays, routes: Routes) -> bool:
    """:func:`~corridor.engine.phases.decide.start_on_links` for one row, given its choice
    ``row`` (:func:`~corridor.engine.routing.choice_row` with its place) and uniform ``u``."""
    if not routes.has_option[row]:
        return False
    k = 0
    while not u < routes.cdf_rows[row, k]:  # the sentinel column (2.0) ends it
        k += 1
    link = routes.out_links[here, min(k, routes.out_links.shape[1] - 1)]
    if link < 0:
        return False
    pop.link[r] = link
    pop.progress_km[r] = 0.0
    pop.state[r] = IN_TRANSIT
    pop.since[r] = day
    return True


@numba.njit(cache=True, inline="always")
def choice_row_of_place0(r: int, day: int, pop: PopArrays, n_places: int) -> int:
    """:func:`~corridor.engine.routing.choice_row` of row ``r`` at place 0 (bus access or papers)."""
    bus = pop.bus_access[r] or pop.papers_until[r] > day
    return (int(pop.destination[r]) * 2 + (1 if bus else 0)) * n_places
