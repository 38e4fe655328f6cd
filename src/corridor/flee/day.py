"""Flee 3.1's day agent by agent, in numba: the function the ``compiled`` Flee kernel runs.

:func:`flee_day` does what Flee 3.1's ``Ecosystem.evolve`` does, in the same order:

1. **evolve**, agent by agent in agent order: whoever is at a location sets off with its move
   chance on a link drawn with Flee's awareness-level-1 weights, unless the link leads to a
   camp whose capacity multiplier is below 0.5 (Flee's ``check_dest_is_full_camp``);
2. **finish travel**, agent by agent in agent order: whoever is on a link covers the day's
   speed; past its end they arrive (or turn back on a closed link) and, with less than the
   day's speed moved, evolve again there and travel on (Flee's ``evolveMore``), all before the
   next agent; ``recent_travel_distance`` is updated as Flee does at the end of the day.

Route weights are cached per location and rebuilt when a capped camp at the end of one of its
links changes its capacity multiplier. The day's random numbers are a SplitMix64 stream from
its seed. This module imports numba: :mod:`corridor.flee.compiled` imports it only when the
day built ahead of time (:mod:`corridor.flee.ahead`) cannot be loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "Agents",
    "Links",
    "Places",
    "Settings",
    "Weights",
    "flee_day",
    "import_arraymath_without_scipy_linalg",
]

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.signedinteger[Any]]  # int32 (half the memory traffic of int64)
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class _HideScipyLinalg(MetaPathFinder):
    """An import finder under which ``scipy.linalg`` (and its submodules) is not found."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "scipy.linalg" or fullname.startswith("scipy.linalg."):
            raise ImportError(f"{fullname} hidden while numba loads the Flee kernel")
        return None


def import_arraymath_without_scipy_linalg() -> None:
    """Import ``numba.np.arraymath`` without SciPy's linear algebra (about 0.4 s).

    The first compiled call makes numba import ``numba.np.arraymath``, which at import time
    checks whether BLAS is there by importing ``scipy.linalg.cython_blas``, and that imports
    all of ``scipy.linalg``: a third of ``corridor flee run``'s start-up. The flag it sets
    (``_HAVE_BLAS``) only chooses how ``np.convolve`` and ``np.correlate`` are compiled, which
    the kernel does not use, and ``np.dot`` and ``np.linalg`` check BLAS again when compiled.
    So ``scipy.linalg`` is hidden while that one module is imported, before the kernel is
    compiled or loaded (the import finder is global to the process: the window is kept to that
    import); if either is already imported this does nothing.
    """
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    finder = _HideScipyLinalg()
    sys.meta_path.insert(0, finder)
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


@numba.njit(cache=True, inline="always")
def _cap_multiplier(n: int, cap: int, buffer: float) -> float:
    """Flee's ``getCapMultiplier`` for ``n`` people at a location of capacity ``cap``."""
    if n <= buffer * cap:
        return 1.0
    if n >= cap:
        return 0.0
    return 1.0 - (n - buffer * cap) / (cap * (1.0 - buffer))


@numba.njit(cache=True, inline="always")
def _uniform(state: np.uint64) -> tuple[np.uint64, float]:
    """SplitMix64: the next state and a uniform draw in [0, 1) from its 53 high bits.

    Steele, Lea and Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014);
    constants as in Vigna's reference code, https://prng.di.unimi.it/splitmix64.c. Inlined, it
    costs about a nanosecond, against about five for a call into NumPy's PCG64 per draw.
    """
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return state, (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _route_weights(
    loc: int,
    bounds: IntArray,
    l_to: IntArray,
    l_base: FloatArray,
    l_open: BoolArray,
    count: IntArray,
    cap: IntArray,
    buffer: float,
    weight_power: float,
    cum: FloatArray,
    total: FloatArray,
) -> None:
    """Flee's ``calculateLinkWeight`` for each link out of ``loc``, cumulated, and their total."""
    total_w = 0.0
    n_open = 0
    for j in range(bounds[loc], bounds[loc + 1]):
        if l_open[j]:
            w = l_base[j] * _cap_multiplier(count[l_to[j]], cap[l_to[j]], buffer)
            total_w += w if weight_power == 1.0 else w**weight_power
            n_open += 1
        cum[j] = total_w
    if total_w <= 0.0 and n_open > 0:
        # Flee's normalizeWeights: all zero -> equal weights (closed links are gone)
        for j in range(bounds[loc], bounds[loc + 1]):
            total_w += 1.0 if l_open[j] else 0.0
            cum[j] = total_w
    total[loc] = total_w


@numba.njit(cache=True, inline="always")
def _multiplier_changed(n_before: int, n_after: int, cap: int, buffer: float) -> bool:
    """Whether a count change from ``n_before`` to ``n_after`` changes Flee's capacity multiplier."""
    return _cap_multiplier(n_before, cap, buffer) != _cap_multiplier(n_after, cap, buffer)


@numba.njit(cache=True, inline="always")
def _refuses(n: int, n_on_way: int, cap: int, is_camp: bool, settings: Settings) -> bool:
    """Whether a step toward a capped location holding ``n`` people (``n_on_way`` coming) is refused.

    Flee's ``check_dest_is_full_camp``: a camp whose multiplier is below 0.5 (a closed camp is a
    town: no refusal); with corridor's ``hard_capacity``, also when occupancy + people on the way
    reach capacity.
    """
    if is_camp and _cap_multiplier(n, cap, settings[0]) < 0.5:
        return True
    return settings[5] and n + n_on_way >= cap


@numba.njit(cache=True)
def _mark_stale(
    loc: int, in_start: npt.NDArray[np.int64], in_from: npt.NDArray[np.int64], stale: npt.NDArray[np.bool_]
) -> None:
    """The capacity multiplier of ``loc`` changed: the route weights of the links into it are stale."""
    for j in range(in_start[loc], in_start[loc + 1]):
        stale[in_from[j]] = True


#: Per agent: location (or location last left), CSR link (-1: at a location), km done on it,
#: Flee's recent_travel_distance, and scratch for the day's travellers.
Agents = tuple[Int32Array, Int32Array, FloatArray, FloatArray, Int32Array]
#: Per location: people there, people on the way, peak, fill at departure, move chance, town,
#: camp, capped camp, capacity.
Places = tuple[
    IntArray, IntArray, IntArray, FloatArray, FloatArray, BoolArray, BoolArray, BoolArray, IntArray
]
#: CSR links: block bounds per location, from, to, km, speed, walk probability, base weight, open.
Links = tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]
#: Route weights: per location the links into it (start, from), per link the cumulative weight,
#: per location the total and whether it is stale.
Weights = tuple[IntArray, IntArray, FloatArray, FloatArray, BoolArray]
#: capacity_buffer, weight_power, max_move_speed, max_walk_speed, avoid_short_stints, hard_capacity,
#: max_hops_per_day.
Settings = tuple[float, float, float, float, bool, bool, int]


@numba.njit(cache=True)
def flee_day(
    seed: int, agents: Agents, places: Places, links: Links, weights: Weights, settings: Settings
) -> int:
    """Flee's ``Ecosystem.evolve``, agent by agent in agent order; -1 if someone made too many hops.

    One function, its arrays unpacked once: numba counts references on each call of a helper taking arrays.
    """
    place, link, km_done, recent, travellers = agents
    count, on_way, peak, fill_at_departure, move_chance, town, camp, limited, cap = places
    bounds, l_from, l_to, l_km, l_speed, l_walk, l_base, l_open = links
    in_start, in_from, cum, total, stale = weights
    buffer, weight_power, max_speed_km, walk_speed_km, stints, _, max_hops = settings
    state = np.uint64(seed)
    n_travellers = 0
    for finish_pass in (False, True):
        for i in range(n_travellers if finish_pass else place.size):
            # The second pass goes over the travellers only, in agent order as the first lists them.
            a = travellers[i] if finish_pass else i
            sets_off = False  # the second pass finishes the travel first
            if not finish_pass and link[a] < 0:  # ---- Flee's evolve: the move-chance draw
                state, draw = _uniform(state)
                if not draw < move_chance[place[a]]:
                    if stints:
                        recent[a] *= 0.5  # no travel today: Flee's end-of-day update
                    continue
                sets_off = True
            moved_km = 0.0
            for _hop in range(max_hops + 1):
                if sets_off:
                    # ---- selectRoute, check_dest_is_full_camp, handle_travel (from place[a])
                    loc = place[a]
                    if stale[loc]:
                        _route_weights(
                            loc, bounds, l_to, l_base, l_open, count, cap, buffer, weight_power, cum, total
                        )
                        stale[loc] = False
                    if total[loc] > 0.0:  # else no open link: Flee's empty route, they stay
                        state, draw = _uniform(state)
                        u = draw * total[loc]
                        k = bounds[loc]
                        while cum[k] <= u:  # the first link past u (u < total; closed links add 0)
                            k += 1
                        dest = l_to[k]
                        n, c = count[dest], cap[dest]
                        go = not (limited[dest] and _refuses(n, on_way[dest], c, camp[dest], settings))
                        if go and limited[dest]:
                            fill_at_departure[dest] = max(fill_at_departure[dest], n / c)
                        if go:
                            count[loc] -= 1
                            if limited[loc] and _multiplier_changed(
                                count[loc] + 1, count[loc], cap[loc], buffer
                            ):
                                _mark_stale(loc, in_start, in_from, stale)
                            on_way[dest] += 1
                            link[a] = k
                            km_done[a] = 0.0
                if not finish_pass:
                    break
                # ---- Flee's Person.finish_travel
                k = link[a]
                if k < 0:
                    break
                speed = l_speed[k]
                if l_walk[k] > 0.0:
                    state, draw = _uniform(state)
                    if draw < l_walk[k]:
                        speed = walk_speed_km
                done = km_done[a] + speed
                moved_km += speed
                if done <= l_km[k]:
                    km_done[a] = done  # on the link overnight: the day's km count in full
                    break
                moved_km += l_km[k] - done
                on_way[l_to[k]] -= 1
                link[a] = -1
                km_done[a] = 0.0
                end = l_from[k] if not l_open[k] else l_to[k]  # closed meanwhile: turn back
                place[a] = end
                count[end] += 1
                peak[end] = max(peak[end], count[end])
                if limited[end] and _multiplier_changed(count[end] - 1, count[end], cap[end], buffer):
                    _mark_stale(end, in_start, in_from, stale)
                if not l_open[k] or moved_km >= speed:
                    break
                # evolveMore: the move-chance draw at the new location; Flee 2.0's ForceTownMove
                # (leave a town for sure) when little was travelled over two days
                force = stints and (recent[a] + moved_km / max_speed_km) / 2.0 < 0.5
                state, draw = _uniform(state)
                sets_off = draw < (1.0 if (force and town[end]) else move_chance[end])
            else:
                return -1
            if not finish_pass and link[a] >= 0:  # on a link: the second pass takes them, in this order
                travellers[n_travellers] = a
                n_travellers += 1
            elif stints:  # Flee's end-of-day update, once per agent (only their own steps read it)
                recent[a] = (recent[a] + moved_km / max_speed_km) / 2.0
    return 0
