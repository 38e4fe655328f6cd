"""Flee 3.1's day agent by agent, compiled: the ``compiled`` Flee kernel.

:class:`CompiledKernel` keeps everything of the vectorised :class:`~corridor.flee.kernel._Kernel`
that changes once a day at most (location flags, move chances, scores and base link weights,
closures, conflict zones; set in Python as there) and replaces its day with one compiled
function, :func:`corridor.flee.day.flee_day`, which does what Flee 3.1's ``Ecosystem.evolve``
does, in the same order, agent by agent. Each agent therefore sees every camp's occupancy
exactly as Flee's agent would, where the vectorised kernel moves people in batches. Each day's
random numbers are a SplitMix64 stream seeded from the run's ``numpy.random.Generator``, so a
seed gives the same run every time.

The day is built ahead of time into an extension module that runs without numba
(:mod:`corridor.flee.ahead`), or compiled by numba at run time where that cannot be done. This
module imports neither numba nor the day until a kernel is made, and nothing imports it unless
the compiled kernel is chosen (:func:`corridor.flee.run.resolve_kernel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from corridor.errors import FleeInputError
from corridor.flee.ahead import check_day_arrays, flee_day_function
from corridor.flee.kernel import _Kernel
from corridor.flee.network import FleeNetwork
from corridor.flee.rules import FleeRules

if TYPE_CHECKING:
    from corridor.flee.day import Agents

__all__ = ["CompiledKernel"]


class CompiledKernel(_Kernel):
    """The vectorised kernel's tables and daily updates, with the day itself compiled.

    Per agent it adds the CSR link travelled (-1: at a location) and the km done on it. The day
    is the one built ahead of time (:mod:`corridor.flee.ahead`, built on first use), or with
    ``ahead_of_time=False`` (or where that build fails) the one numba compiles at run time.
    """

    def __init__(
        self,
        fnet: FleeNetwork,
        n_agents: int,
        rules: FleeRules,
        capacity: npt.NDArray[np.int64],
        rng: np.random.Generator,
        ahead_of_time: bool = True,
    ) -> None:
        super().__init__(fnet, n_agents, rules, capacity, rng)
        n = self.place.size
        #: per agent: location, CSR link (-1: at a location), km done on it, Flee's
        #: recent_travel_distance; views of the first n entries of growable buffers
        self._buffers: list[npt.NDArray[Any]] = [
            self.place.astype(np.int32),
            np.full(n, -1, dtype=np.int32),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n, dtype=np.int32),  # scratch: the day's travellers
        ]
        self._views()
        # Per location, the start locations of the links into it (a capped camp's multiplier
        # enters their route weights).
        by_end = np.argsort(self.l_to, kind="stable")
        self.in_from = self.l_from[by_end].astype(np.int64)
        self.in_start = np.concatenate(([0], np.cumsum(np.bincount(self.l_to, minlength=self.n_places))))
        self.block_bounds = np.append(self.block_start, self.n_links).astype(np.int64)
        self.cum = np.zeros(self.n_links)
        self.total = np.zeros(self.n_places)
        self.stale_weights = np.ones(self.n_places, dtype=bool)
        self.fill_at_departure = self.fill_at_departure.astype(np.float64)
        # Load the day (built ahead of time, or compiled by numba) now, so that the day loop is
        # timed without it.
        self._flee_day = flee_day_function(ahead_of_time)
        self._step(tuple(b[:0] for b in self._buffers), seed=0)  # type: ignore[arg-type]

    def add_agents(self, places: npt.NDArray[np.intp]) -> None:
        """New people at ``places`` (at a location, not travelling), after everyone else."""
        if places.size == 0:
            return
        n, m = self.place.size, places.size
        if n + m > self._buffers[0].size:
            # Spawning adds people every day: grow by doubling, not a copy of everyone per day.
            size = max(2 * self._buffers[0].size, n + m, 1024)
            grown = []
            for buf in self._buffers:
                new = np.empty(size, dtype=buf.dtype)
                new[:n] = buf[:n]
                grown.append(new)
            self._buffers = grown
        place, link, km_done, recent, _ = self._buffers
        place[n : n + m] = places
        link[n : n + m] = -1
        km_done[n : n + m] = 0.0
        recent[n : n + m] = 0.0
        self._views(n + m)
        self.count += np.bincount(places, minlength=self.n_places)
        np.maximum(self.peak, self.count, out=self.peak)

    def _views(self, n: int | None = None) -> None:
        """Per-agent arrays: the first ``n`` entries of the buffers (default: all)."""
        views = [b if n is None else b[:n] for b in self._buffers]
        self.place, self.agent_link, self.agent_km_done, self.recent, self._travellers = views

    def _step(self, agents: Agents, seed: int) -> int:
        """Run the compiled day for ``agents`` with the day's random stream ``seed``; its return value."""
        rules = self.rules
        places = (
            self.count,
            self.on_way,
            self.peak,
            self.fill_at_departure,
            self.move_chance,
            self.town,
            self.camp,
            self.limited,
            self.cap,
        )
        links = (
            self.block_bounds,
            self.l_from,
            self.l_to,
            self.l_km,
            self.l_speed,
            self.l_walk,
            self.l_base,
            self.l_open,
        )
        weights = (self.in_start, self.in_from, self.cum, self.total, self.stale_weights)
        settings = (
            float(rules.capacity_buffer),
            float(rules.weight_power),
            float(rules.max_move_speed_km),
            float(rules.max_walk_speed_km),
            bool(rules.avoid_short_stints),
            bool(rules.hard_capacity),
            int(rules.max_hops_per_day),
        )
        check_day_arrays((agents, places, links, weights))  # the built day would crash, not raise
        return int(self._flee_day(seed, agents, places, links, weights, settings))

    def day(self, day: int) -> None:
        """One Flee ``Ecosystem.evolve()``: closures and score updates, then the compiled day."""
        self.set_closures(day)
        if self.decay is not None and bool(np.any(self.conflict > 0)):
            self.update_locations(day)
        # Closures, scores and camp flags may have changed since yesterday: weights from scratch.
        self.stale_weights[:] = True
        agents = (self.place, self.agent_link, self.agent_km_done, self.recent, self._travellers)
        # The day's random numbers: a stream seeded from the run's generator (same seed, same run).
        if self._step(agents, seed=int(self.rng.integers(0, 2**63))) < 0:
            raise FleeInputError(
                f"day {day}: someone made more than {self.rules.max_hops_per_day} hops "
                "(a cycle of short links with move chance 1?)"
            )

    @property
    def n_on_links(self) -> int:
        """People on a link (at no location) now."""
        return int(np.count_nonzero(self.agent_link >= 0))

    def links(self) -> npt.NDArray[np.int32]:
        """Per agent, the network link id travelled (-1 if at a location)."""
        out = np.full(self.place.size, -1, dtype=np.int32)
        on = self.agent_link >= 0
        out[on] = self.order[self.agent_link[on]]
        return out
