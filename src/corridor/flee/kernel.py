"""A movement-only engine with Flee 3.1's rules, vectorised in corridor's style.

It exists for the peer comparison with Flee (``corridor bench flee-network``,
``benchmarks/flee_vs_corridor.py``) and leaves corridor's own engine untouched. The
population is three arrays (place, link, km done on the link); a day is Flee's two passes,
each a few NumPy operations over the agents concerned:

1. **evolve.** Everyone at a location (not on a link) sets off with the location's move
   chance (Flee 3.1 defaults: conflict zone 1.0, town 0.3, camp 0.001, IDP camp 0.1,
   forwarding hub 1.0). The link is drawn with Flee's awareness-level-1 weights

       w(link) = (weight_softening + score(end)) / (softening + km)^distance_power
                 * cap_multiplier(end)

   with ``score`` = camp_weight for camps, conflict_weight^intensity for conflict zones,
   times foreign_weight abroad, and ``cap_multiplier`` 1 below ``capacity_buffer *
   capacity``, 0 at capacity, linear between (camps only). All-zero weights: uniform.
   A step toward a camp whose multiplier is below 0.5 is refused (the person stays).
2. **finish travel.** Everyone on a link covers ``max_move_speed`` more km (the link's own
   ``max_move_speed`` attribute if set; ``max_walk_speed`` with the link's
   ``walk_probability``). Past the end of the link they arrive (or, if it closed meanwhile,
   go back to where they came from). If the km moved today are still below the day's
   speed, they evolve again at the new location (move-chance draw, choice, and a fresh
   day's speed on the next link), as Flee's ``evolveMore`` does.

Flee updates agents one at a time; here each pass (and each further hop) is one
synchronous step over all agents concerned, with the occupancy seen at the start of the
step. As in Flee, a step toward a camp is refused only on the camp's occupancy, so a camp
can overshoot its capacity by the people already on the way; ``FleeRules.hard_capacity``
adds corridor's stricter bound. See ``docs/flee.md`` for every difference.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from corridor.errors import FleeInputError
from corridor.flee.network import FleeNetwork
from corridor.flee.reach import adjacency_km, within_km
from corridor.flee.rules import FleeRules

__all__ = ["FleeRules", "FleeRunResult", "run_flee_movement"]

_UNLIMITED = np.iinfo(np.int64).max // 4
#: Calls with fewer choosers than this search the choice keys instead of the lookup table.
_TABLE_MIN = 4096


@dataclass(eq=False)
class FleeRunResult:
    """What a movement-only run produced."""

    names: list[str]
    daily_counts: npt.NDArray[np.int64]  #: (day, location) people at each location at the end of the day
    daily_in_transit: npt.NDArray[np.int64]  #: (day,) people on a link at the end of the day
    peak_occupancy: npt.NDArray[np.int64]  #: per location, the most people it held at any step
    #: per location, the highest occupancy / capacity seen by anyone setting off toward it
    #: (NaN: no limit or nobody went); Flee's rule keeps it <= 1 - (1 - capacity_buffer) / 2
    fill_at_departure: npt.NDArray[np.float64]
    capacity: npt.NDArray[np.int64]  #: per location, the capacity applied (-1: unlimited)
    place: npt.NDArray[np.intp]  #: per agent at the end: location, or location last left
    link: npt.NDArray[np.int32]  #: per agent at the end: link travelled (network link id), or -1
    agent_steps: int
    wall_seconds: float
    setup_seconds: float
    population_bytes: int

    @property
    def final_counts(self) -> npt.NDArray[np.int64]:
        """People at each location at the end of the run (zeros if no day was run)."""
        if self.daily_counts.shape[0] == 0:
            return np.bincount(self.place, minlength=len(self.names)).astype(np.int64)
        return self.daily_counts[-1]

    @property
    def final_in_transit(self) -> int:
        """People on a link at the end of the run."""
        return int(self.daily_in_transit[-1]) if self.daily_in_transit.size else 0


def _check_supported(fnet: FleeNetwork, rules: FleeRules) -> None:
    if rules.awareness_level != 1:
        raise FleeInputError(
            f"awareness level {rules.awareness_level} is not supported (only Flee's default, 1)"
        )
    markers = [fnet.names[i] for i in np.flatnonzero(fnet.kind == "marker")]
    if markers:
        raise FleeInputError(
            f"{fnet.source}: marker locations are not supported by the movement-only kernel "
            f"(they extend routes beyond awareness level 1): {', '.join(markers[:5])}"
        )


class _Kernel:
    """Tables and state of one run. Links are renumbered in order of their start location."""

    place: npt.NDArray[np.intp]  #: per agent: the location, or while on a link the location last left
    count: npt.NDArray[np.int64]  #: per location: people there (not on a link)
    peak: npt.NDArray[np.int64]  #: per location: the most people it held at any step

    def __init__(
        self,
        fnet: FleeNetwork,
        n_agents: int,
        rules: FleeRules,
        capacity: npt.NDArray[np.int64],
        rng: np.random.Generator,
    ) -> None:
        self.rules, self.rng = rules, rng
        self.n_places = fnet.network.n_places
        intensity, conflict = self._init_locations(fnet, rules, capacity)
        self._init_links(fnet, rules)
        self._init_closures(fnet)
        self._init_tables()
        self._init_population(fnet, n_agents, rng, intensity, conflict)
        self.recent = np.zeros(self.place.size)  #: Flee's recent_travel_distance (avoid_short_stints)
        self.moved_today = np.zeros(self.place.size)  #: km moved today (avoid_short_stints)

    def _init_locations(
        self, fnet: FleeNetwork, rules: FleeRules, capacity: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Per location: move chance, score and capacity; returns conflict intensity and zones."""
        # Locations: Flee's flags (camp, idpcamp, town, conflict intensity), which closures and
        # conflicts.csv change during a run; move chances and scores follow from them.
        kind = fnet.kind
        self.foreign = fnet.foreign.copy()
        self.camp = np.isin(kind, ("camp", "idpcamp"))
        self.idpcamp = kind == "idpcamp"
        self.town = kind == "town"
        self.always_move = np.isin(kind, ("forwarding_hub", "marker"))
        intensity = np.array([float(a.get("conflict_intensity") or 1.0) for a in fnet.location_attributes])
        conflict = kind == "conflict_zone"
        #: per location, conflict intensity (-1: not a conflict zone), as Flee's ``Location.conflict``
        self.conflict = np.where(conflict, intensity, -1.0)
        #: per location, the day its conflict began (Flee's ``time_of_conflict``; -1 before any)
        self.time_of_conflict = np.full(self.n_places, -1, dtype=np.int64)
        self.decay: Callable[[int], float] | None = None
        self.limited = self.camp & (capacity >= 1)  # Flee: capacity < 1 means unlimited
        self.any_limited = bool(self.limited.any())
        self.cap = np.where(self.limited, capacity, _UNLIMITED).astype(np.int64)
        self._set_move_chances()
        self._score_of_place = self._scores(0)
        return intensity, conflict

    def _set_move_chances(self) -> None:
        """Move chance per location from its flags (Flee's ``Location`` and its state changes)."""
        rules = self.rules
        mc = np.full(self.n_places, rules.default_move_chance)
        mc[self.always_move] = rules.forwarding_move_chance
        mc[self.conflict > 0] = rules.conflict_move_chance
        mc[self.camp] = rules.camp_move_chance
        mc[self.idpcamp & self.camp] = rules.idpcamp_move_chance
        self.move_chance = mc
        # A person moves when a uniform 32-bit draw r satisfies r <= threshold: P = ceil(mc 2^32) / 2^32.
        self.threshold = (np.clip(np.ceil(mc * 2.0**32), 1, 2.0**32) - 1).astype(np.uint32)
        self.never = mc <= 0
        self.any_never = bool(self.never.any())

    def _scores(self, day: int) -> npt.NDArray[np.float64]:
        """Flee's ``updateLocationScore`` on ``day``: foreign, camp and (decayed) conflict weights."""
        rules = self.rules
        score = np.ones(self.n_places)
        score[self.foreign] *= rules.foreign_weight
        score[self.camp] *= rules.camp_weight
        zones = np.flatnonzero(self.conflict > 0)
        for i in zones:
            decay = 1.0 if self.decay is None else self.decay(day - int(self.time_of_conflict[i]))
            score[i] *= rules.conflict_weight ** (decay * self.conflict[i])
        return score

    def update_locations(self, day: int) -> None:
        """Recompute move chances, scores and base link weights after a change of flags."""
        self._set_move_chances()
        self._keys_valid = False  # camp flags decide the full-camp refusal
        score = self._scores(day)
        if np.array_equal(score, self._score_of_place):
            return
        self._score_of_place = score
        rules = self.rules
        self.l_base = (rules.weight_softening + score[self.l_to]) / (
            rules.distance_softening_km + self.l_km
        ) ** rules.distance_power

    def add_conflict_zone(self, i: int, intensity: float, day: int) -> None:
        """Flee's ``add_conflict_zone``: conflict move chance and score from ``day``."""
        self.conflict[i] = intensity
        self.town[i] = False
        self.time_of_conflict[i] = day

    def remove_conflict_zone(self, i: int) -> None:
        """Flee's ``remove_conflict_zone``: the location becomes a town."""
        self.conflict[i] = -1.0
        self.town[i] = True

    def add_agents(self, places: npt.NDArray[np.intp]) -> None:
        """New people at ``places`` (at a location, not travelling), after everyone else."""
        if places.size == 0:
            return
        self.place = np.concatenate([self.place, places.astype(np.intp)])
        self.count += np.bincount(places, minlength=self.n_places)
        np.maximum(self.peak, self.count, out=self.peak)
        if self.rules.avoid_short_stints:
            self.recent = np.concatenate([self.recent, np.zeros(places.size)])
            self.moved_today = np.concatenate([self.moved_today, np.zeros(places.size)])

    def _init_links(self, fnet: FleeNetwork, rules: FleeRules) -> None:
        """Links in CSR order (by start location), their speeds and base choice weights."""
        net, n_places, score = fnet.network, self.n_places, self._score_of_place
        # Links in CSR order (by start location).
        order = np.argsort(net.link_from, kind="stable")
        self.order = order
        self.n_links = int(order.size)
        self.l_from = net.link_from[order].astype(np.intp)
        self.l_to = net.link_to[order].astype(np.intp)
        # Distances as the file gives them (float64), not the Network's float32 copy.
        self.l_km = net.route_distance_km[net.link_route[order]].astype(np.float64)
        speed = fnet.link_speed_km[order]
        self.l_speed = np.where(np.isnan(speed), rules.max_move_speed_km, speed)
        self.l_walk = fnet.link_walk_probability[order].astype(np.float64)
        self.any_walk = bool(np.any(self.l_walk > 0))
        self.one_speed = not self.any_walk and bool(np.all(self.l_speed == self.l_speed[0]))
        self.l_base = (rules.weight_softening + score[self.l_to]) / (
            rules.distance_softening_km + self.l_km
        ) ** rules.distance_power
        out_degree = np.bincount(self.l_from, minlength=n_places)
        self.block_start = np.cumsum(out_degree) - out_degree
        self.l_open = np.ones(self.n_links, dtype=bool)
        self.reach = self._camp_reach()

    def _init_closures(self, fnet: FleeNetwork) -> None:
        """Per closure of the input: its first and last day and the CSR links it closes."""
        country = fnet.network.place_country
        # Closures: per closure, the CSR links it closes.
        self.closures: list[tuple[int, int, npt.NDArray[np.bool_]]] = []
        #: camp closures: (day, location, becomes a camp again, as an IDP camp), in file order
        self.camp_events: list[tuple[int, int, bool, bool]] = []
        names = {n: i for i, n in enumerate(fnet.names)}
        for c in fnet.closures:
            if c.kind == "link":
                if not self.rules.link_closures:
                    continue
                a, b = names[c.name1], names[c.name2]
                hit = ((self.l_from == a) & (self.l_to == b)) | ((self.l_from == b) & (self.l_to == a))
            elif c.kind == "location":
                a = names[c.name1]
                hit = (self.l_from == a) | (self.l_to == a)
            elif c.kind == "country":
                ca, cb = country[self.l_from], country[self.l_to]
                hit = ((ca == c.name1) & (cb == c.name2)) | ((ca == c.name2) & (cb == c.name1))
            elif c.kind in ("camp", "idpcamp"):
                # Flee's close_camp / open_camp: the camp is a town on days [start, end).
                idp = c.kind == "idpcamp"
                self.camp_events.append((c.start, names[c.name1], False, idp))
                if c.end >= 0:
                    self.camp_events.append((c.end, names[c.name1], True, idp))
                continue
            elif c.kind == "remove_forced_redirection":
                continue  # Flee 3.1's movement never reads forced_redirection: no effect there either
            else:
                raise FleeInputError(f"{fnet.source}: unknown closure type {c.kind!r}")
            self.closures.append((c.start, c.end, hit))
        self.any_closed = False

    def _init_tables(self) -> None:
        """Empty route-choice tables (filled by ``_refresh_tables``) and fill flags."""
        n_places = self.n_places
        # Route choice: an exact inverse-CDF lookup on the top ``bits`` bits of a 32-bit draw
        # per location (a bucket that straddles two links says -1 and falls back to a search).
        self.bits = int(np.clip(np.floor(np.log2(2**20 / max(n_places, 1))), 4, 12))
        self.table = np.zeros(n_places << self.bits, dtype=np.int32)
        self.keys = np.full(self.n_links, -1.0)
        # Choice keys are rebuilt only when a weight can have changed (open links, scores, or the
        # capacity multiplier of a capped camp); table rows only when a call is big enough to use them.
        self._keys_valid = False
        self._last_capm = np.empty(0)
        self.stale = np.ones(n_places, dtype=bool)
        self.any_stale = True
        self.limited_idx = np.flatnonzero(self.limited)
        self.into_limited = np.zeros(n_places, dtype=bool)  # scratch for the first pass
        self.has_option = np.zeros(n_places, dtype=bool)
        self.all_have_option = False
        self.full = np.zeros(n_places, dtype=bool)
        self.any_full = False

    def _init_population(
        self,
        fnet: FleeNetwork,
        n_agents: int,
        rng: np.random.Generator,
        intensity: npt.NDArray[np.float64],
        conflict: npt.NDArray[np.bool_],
    ) -> None:
        """Everyone at the day-0 conflict zones, and the per-location counters."""
        n_places = self.n_places
        # Population: everyone at the day-0 conflict zones, in proportion to population.
        zones = np.flatnonzero(conflict)
        if zones.size == 0 and n_agents > 0:
            raise FleeInputError(f"{fnet.source}: no conflict zone on day 0 to place people at")
        weight = fnet.population[zones].astype(np.float64) * intensity[zones]
        if weight.sum() <= 0 and zones.size:
            weight = np.ones(zones.size)
        per_zone = (
            rng.multinomial(n_agents, weight / weight.sum())
            if n_agents > 0
            else np.zeros(zones.size, np.int64)
        )
        #: Per agent: the location, or while on a link the location last left.
        self.place = np.repeat(zones, per_zone).astype(np.intp)
        # People on a link at the end of a day (few: Flee covers a day's speed per hop): their
        # rows, CSR link and km done on it. Nobody else has a link, so no per-agent link array.
        self.transit = np.empty(0, dtype=np.intp)
        self.transit_link = np.empty(0, dtype=np.intp)
        self.transit_km = np.empty(0, dtype=np.float64)
        self.count = np.bincount(self.place, minlength=n_places).astype(np.int64)
        self.on_way = np.zeros(n_places, dtype=np.int64)  #: people on a link toward each location
        self.peak = self.count.copy()
        self.fill_at_departure = np.full(n_places, -np.inf)

    # ------------------------------------------------------------------ tables

    def _camp_reach(self) -> npt.NDArray[np.bool_]:
        """(capped camp, location): can someone whose link ends there enter the camp the same day?

        A further hop starts only while the km moved today are below the day's speed, so a
        person reaching location v enters camp c that day only if some neighbour w of c lies
        less than the (largest) speed from v, or v is c.
        """
        camps = np.flatnonzero(self.limited)
        reach = np.zeros((camps.size, self.n_places), dtype=bool)
        if camps.size == 0:
            return reach
        limit = float(max(self.l_speed.max(), self.rules.max_walk_speed_km))
        adjacency = adjacency_km(self.n_places, self.l_from, self.l_to, self.l_km)
        for k, c in enumerate(camps):
            nbrs = sorted(adjacency[c])  # (not np.unique: in NumPy 2.4 it imports numpy.ma, 10 ms)
            reach[k, c] = True
            if nbrs:
                # Links are two-way with one length, so distance from a neighbour = distance to it.
                reach[k, within_km(adjacency, nbrs, limit)] = True
        return reach

    def _hot(self, li: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.bool_], int] | None:
        """Travellers on links ``li`` who could enter a capped camp that may reach its buffer this pass.

        Returns them and the number of batches they need (see ``FleeRules.max_multiplier_step``);
        None if no camp may fill: then order cannot matter for anyone.
        """
        end = self.l_to.take(li)
        ends = np.bincount(end, minlength=self.n_places)
        if self.any_closed:
            ends = ends + np.bincount(self.l_from.take(li), minlength=self.n_places)
        lim = self.limited
        reachable = self.reach @ ends  # bounds both arrivals and (re-)departures during the pass
        now, cap = self.count[lim], self.cap[lim]
        # The multiplier is 1 up to the buffer and 0 from capacity on: it can change during the
        # pass only if the count can move into (buffer, capacity).
        may = (now + reachable > self.rules.capacity_buffer * cap) & (now - reachable < cap)
        if not may.any():
            return None
        near = self.reach[may].any(axis=0)
        hot = near.take(end)
        if self.any_closed:
            hot |= near.take(self.l_from.take(li))  # turned back on a closed link
        could_enter = (self.reach[may] @ np.bincount(end[hot], minlength=self.n_places)).astype(np.float64)
        band = (1.0 - self.rules.capacity_buffer) * self.cap[lim][may]
        need = float(np.max(could_enter / (self.rules.max_multiplier_step * np.maximum(band, 1.0))))
        batches = int(min(self.rules.sequential_batches, int(hot.sum()), max(1, math.ceil(need))))
        return hot, batches

    def raw32(self, n: int) -> npt.NDArray[np.uint32]:
        """``n`` uniform 32-bit integers from the run's generator."""
        return self.rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]

    def set_closures(self, day: int) -> None:
        """Links open on ``day``: closures hold on days [start, end) (end -1: for good).

        Camp closures turn the camp into a town on their first day and back on their end day
        (Flee's ``close_camp`` and ``open_camp``: move chance, camp weight, conflict cleared).
        """
        changed = False
        for when, i, reopen, idp in self.camp_events:
            if when != day:
                continue
            changed = True
            self.conflict[i] = -1.0
            self.camp[i], self.town[i], self.always_move[i] = reopen, not reopen, False
            self.idpcamp[i] = reopen and idp
        if changed:
            self.update_locations(day)
        if not self.closures:
            return
        closed = np.zeros(self.n_links, dtype=bool)
        for start, end, hit in self.closures:
            if start <= day and (end < 0 or day < end):
                closed |= hit
        if not np.array_equal(~closed, self.l_open):
            self._keys_valid = False
        self.l_open = ~closed
        self.any_closed = bool(closed.any())

    def _capm_limited(self) -> npt.NDArray[np.float64]:
        """Flee's ``getCapMultiplier`` for the capped camps, from current occupancy."""
        buffer = self.rules.capacity_buffer
        li = self.limited_idx
        cap = self.cap[li].astype(np.float64)
        n = self.count[li].astype(np.float64)
        mid = 1.0 - (n - buffer * cap) / (cap * (1.0 - buffer))
        return np.where(n <= buffer * cap, 1.0, np.where(n >= cap, 0.0, mid))

    def _refresh_tables(self) -> None:
        """Choice probabilities from current occupancy and open links, if anything changed."""
        capm_l = self._capm_limited() if self.any_limited else self._last_capm
        if self._keys_valid and np.array_equal(capm_l, self._last_capm):
            return
        self._last_capm = capm_l
        self._keys_valid = True
        capm = np.ones(self.n_places)
        capm[self.limited_idx] = capm_l
        w = self.l_base * capm[self.l_to]
        if self.rules.weight_power != 1.0:
            w = w**self.rules.weight_power
        w = np.where(self.l_open, w, 0.0)
        n_open = np.bincount(self.l_from, weights=self.l_open, minlength=self.n_places)
        total = np.bincount(self.l_from, weights=w, minlength=self.n_places)
        uniform = (total <= 0) & (n_open > 0)  # Flee: all-zero weights -> equal weights
        if uniform.any():
            w = np.where(uniform[self.l_from] & self.l_open, 1.0, w)
            total = np.bincount(self.l_from, weights=w, minlength=self.n_places)
        cum = np.cumsum(w)
        before = np.concatenate(([0.0], cum))[self.block_start]
        frac = (cum - before[self.l_from]) / np.where(total > 0, total, 1.0)[self.l_from]
        frac[frac >= 1.0 - 1e-12] = 1.0  # no rounding gap at the top of a block
        keys = self.l_from + frac
        self.has_option = n_open > 0
        self.all_have_option = bool(self.has_option.all())
        self.full = self.limited & self.camp & (capm < 0.5)  # Flee: check_dest_is_full_camp
        self.any_full = bool(self.full.any())
        changed = keys != self.keys
        if changed.any():
            self.keys = keys
            self.stale[self.l_from[changed]] = True
            self.any_stale = True

    def _rebuild_table(self) -> None:
        """The lookup table rows of locations whose choice keys changed since they were built."""
        places = self.stale.nonzero()[0]
        self.stale[:] = False
        self.any_stale = False
        r = 1 << self.bits
        grid = np.arange(r + 1, dtype=np.float64) / r
        keys = self.keys
        lo = np.searchsorted(keys, (places[:, None] + grid[None, :-1]).ravel(), side="right")
        hi = np.searchsorted(keys, (places[:, None] + grid[None, 1:]).ravel(), side="left")
        entry = np.where(lo == hi, np.minimum(lo, self.n_links - 1), -1).astype(np.int32)
        self.table.reshape(self.n_places, r)[places] = entry.reshape(places.size, r)

    # ------------------------------------------------------------------ steps

    def depart(self, p: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.bool_] | None, npt.NDArray[np.intp]]:
        """People at locations ``p`` choose a link and set off.

        Returns who left (None: everyone) and the CSR links of those who left.
        """
        if p.size == 0:
            return None, np.zeros(0, dtype=np.intp)
        self._refresh_tables()
        r = self.raw32(p.size)
        if p.size < _TABLE_MIN:
            # Few people: a binary search on the keys costs less than rebuilding table rows.
            i = np.searchsorted(self.keys, p + r * 2.0**-32, side="right")
        else:
            if self.any_stale:
                self._rebuild_table()
            i = self.table.take((p << self.bits) + (r >> (32 - self.bits))).astype(np.intp)
            amb = (i < 0).nonzero()[0]
            if amb.size:
                i[amb] = np.searchsorted(self.keys, p[amb] + r[amb] * 2.0**-32, side="right")
        ok: npt.NDArray[np.bool_] | None = None
        if not self.all_have_option:
            ok = self.has_option.take(p)
            i[~ok] = 0
        if self.any_full:
            refused = self.full.take(self.l_to.take(i))
            ok = ~refused if ok is None else ok & ~refused
        per_link = np.bincount(i if ok is None else i[ok], minlength=self.n_links)
        if self.any_limited:
            want = np.bincount(self.l_to, weights=per_link, minlength=self.n_places)
            if self.rules.hard_capacity:
                room = np.maximum(self.cap - self.count - self.on_way, 0)
                if np.any(self.limited & (want > room)):
                    ok = self._admit(self.l_to.take(i), ok, room, want)
                    per_link = np.bincount(i[ok], minlength=self.n_links)
                    want = np.bincount(self.l_to, weights=per_link, minlength=self.n_places)
            seen = self.limited & (want > 0)
            fill = self.count[seen] / self.cap[seen]
            self.fill_at_departure[seen] = np.maximum(self.fill_at_departure[seen], fill)
        self.count -= np.bincount(self.l_from, weights=per_link, minlength=self.n_places).astype(np.int64)
        self.on_way += np.bincount(self.l_to, weights=per_link, minlength=self.n_places).astype(np.int64)
        return ok, (i if ok is None else i[ok])

    def _admit(
        self,
        dest: npt.NDArray[np.intp],
        ok: npt.NDArray[np.bool_] | None,
        room: npt.NDArray[np.int64],
        want: npt.NDArray[Any],
    ) -> npt.NDArray[np.bool_]:
        """Hard bound: occupancy + on the way never above capacity (random order among candidates)."""
        admit = np.ones(dest.size, dtype=bool) if ok is None else ok.copy()
        over = self.limited & (want > room)
        rows = (admit & over[dest]).nonzero()[0]
        d = dest[rows]
        order = np.lexsort((self.rng.random(rows.size), d))
        rows, d = rows[order], d[order]
        rank = np.arange(rows.size) - np.searchsorted(d, d, side="left")
        admit[rows[rank >= room[d]]] = False
        return admit

    def finish_travel(
        self, rows: npt.NDArray[np.intp], li: npt.NDArray[np.intp], done: npt.NDArray[np.float64] | None
    ) -> None:
        """Flee's ``finish_travel`` pass; in agent-order batches when a camp could fill meanwhile."""
        stays: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]] = []
        n = rows.size
        order = self._hot(li) if self.any_limited and n > 1 else None
        if order is None or self.rules.sequential_batches <= 1:
            self._travel(rows, li, done, stays)
        else:
            hot, batches = order
            # Who cannot reach a camp that may fill today never sees its weight and never
            # changes it: one synchronous step. The others go in agent-order batches.
            cold = (~hot).nonzero()[0]
            if cold.size:
                self._travel(rows[cold], li[cold], None if done is None else done[cold], stays)
            warm = hot.nonzero()[0]
            for part in np.array_split(warm, batches):
                self._travel(rows[part], li[part], None if done is None else done[part], stays)
        if stays:
            self.transit = np.concatenate([s[0] for s in stays])
            self.transit_link = np.concatenate([s[1] for s in stays])
            self.transit_km = np.concatenate([s[2] for s in stays])
        else:
            self.transit = np.empty(0, dtype=np.intp)
            self.transit_link = np.empty(0, dtype=np.intp)
            self.transit_km = np.empty(0, dtype=np.float64)

    def _travel(
        self,
        rows: npt.NDArray[np.intp],
        li: npt.NDArray[np.intp],
        done: npt.NDArray[np.float64] | None,
        stays: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]],
    ) -> None:
        """Flee's ``finish_travel`` for ``rows`` on CSR links ``li``, chained hops included.

        ``done`` holds the km already covered on the link (None: all zero). Works on compact
        arrays of the travellers.
        """
        moved: npt.NDArray[np.float64] | float = 0.0
        stints = self.rules.avoid_short_stints
        for _ in range(self.rules.max_hops_per_day):
            if rows.size == 0:
                break
            km = self.l_km.take(li)
            speed: npt.NDArray[np.float64] | float
            if self.one_speed:
                speed = float(self.l_speed[0])
            else:
                speed = self.l_speed.take(li)
                if self.any_walk:
                    walks = self.rng.random(rows.size) < self.l_walk.take(li)
                    speed = np.where(walks, self.rules.max_walk_speed_km, speed)
            # Flee: done += speed; arrived when done > km; moved today += km - done before.
            after = speed if done is None else done + speed
            arrived = after > km
            if not arrived.all():
                stay = (~arrived).nonzero()[0]
                stays.append((rows[stay], li[stay], np.broadcast_to(after, rows.shape)[stay]))
                if stints:
                    # Flee: on a link overnight, the day's km count in full.
                    self.moved_today[rows[stay]] = (np.broadcast_to(moved, rows.shape) + speed)[stay]
                go_on = arrived.nonzero()[0]
                rows, li, km = rows[go_on], li[go_on], km[go_on]
                if done is not None:
                    done = done[go_on]
                if not np.isscalar(speed):
                    speed = np.asarray(speed)[go_on]
                if not np.isscalar(moved):
                    moved = np.asarray(moved)[go_on]
            moved = moved + (km if done is None else km - done)
            per_link = np.bincount(li, minlength=self.n_links)
            self.on_way -= np.bincount(self.l_to, weights=per_link, minlength=self.n_places).astype(np.int64)
            if self.any_closed:
                closed = ~self.l_open.take(li)
                dest = np.where(closed, self.l_from.take(li), self.l_to.take(li))
                self.count += np.bincount(dest, minlength=self.n_places)
            else:
                closed = None
                dest = self.l_to.take(li)
                self.count += np.bincount(self.l_to, weights=per_link, minlength=self.n_places).astype(
                    np.int64
                )
            self.place[rows] = dest
            if self.any_limited:
                np.maximum(self.peak, self.count, out=self.peak)
            # evolveMore: less than a day's travel so far -> evolve again at the new location.
            more = np.less(moved, speed)
            if closed is not None:
                more &= ~closed  # turned back: no further step today
            if stints:
                self.moved_today[rows] = moved
            idx = more.nonzero()[0]
            dest_m = dest[idx]
            go = self.raw32(idx.size) <= self.threshold.take(dest_m)
            if stints:
                # Flee's ForceTownMove: travelled little over two days -> leave a town for sure.
                short = (
                    self.recent[rows[idx]] + np.asarray(moved)[idx] / self.rules.max_move_speed_km
                ) / 2.0 < 0.5
                go |= short & self.town.take(dest_m)
            if self.any_never:
                go &= ~self.never.take(dest_m)
            idx, dest_m = idx[go], dest_m[go]
            ok, li = self.depart(dest_m)
            if ok is not None:
                idx = idx[ok]
            rows, moved, done = rows[idx], np.asarray(moved)[idx], None
        else:
            raise RuntimeError(f"more than {self.rules.max_hops_per_day} hops in a day")

    def day(self, day: int) -> None:
        """One Flee ``Ecosystem.evolve()``: closures, evolve everyone at a location, finish travel."""
        self.set_closures(day)
        if self.decay is not None and bool(np.any(self.conflict > 0)):
            self.update_locations(day)  # Flee updates scores each day (conflict decay)
        place = self.place
        wants = self.raw32(place.size) <= self.threshold.take(place)
        if self.any_never:
            wants &= ~self.never.take(place)
        if self.transit.size:
            wants[self.transit] = False  # on a link: no evolve
        movers = wants.nonzero()[0]
        p = place[movers]
        cut = np.empty(0, dtype=np.intp)
        if self.any_limited:
            # Flee evolves people one by one: someone leaving a camp that is over its buffer
            # changes that camp's weight for everyone after them. Cutting the pass right after
            # each such leaver (in agent order) makes it exact; nothing else here can change a
            # weight within the pass.
            buffered = self.limited & (self.count > self.rules.capacity_buffer * self.cap)
            if buffered.any():
                leaver = buffered.take(p)
                if leaver.any():
                    # Only people at a location with a link into such a camp see its weight: a
                    # cut is needed just before each of them that follows a leaver since the last.
                    into = self.into_limited
                    into[:] = False
                    into[self.l_from[buffered[self.l_to]]] = True
                    sensitive = into.take(p).nonzero()[0]
                    if sensitive.size:
                        # Each leaver moves the camp's multiplier by 1 / band; as in the second
                        # pass, a segment may move it by up to max_multiplier_step (one leaver
                        # per segment when that is under one person: exact).
                        band = (1.0 - self.rules.capacity_buffer) * self.cap[buffered]
                        step = max(1.0, math.floor(self.rules.max_multiplier_step * float(band.min())))
                        seen = np.cumsum(leaver, dtype=np.int64) - leaver.astype(np.int64)
                        before = seen[sensitive] // int(step)
                        cut = sensitive[before > np.concatenate(([0], before[:-1]))]
        if cut.size == 0:
            ok, li = self.depart(p)
            if ok is not None:
                movers = movers[ok]
        else:
            kept, links = [], []
            for part in np.split(np.arange(movers.size), cut):
                ok_part, li_part = self.depart(p[part])
                kept.append(part if ok_part is None else part[ok_part])
                links.append(li_part)
            movers, li = movers[np.concatenate(kept)], np.concatenate(links)
        if self.transit.size:
            self.finish_travel(
                np.concatenate([self.transit, movers]),
                np.concatenate([self.transit_link, li]),
                np.concatenate([self.transit_km, np.zeros(li.size)]),
            )
        else:
            self.finish_travel(movers, li, None)
        if self.rules.avoid_short_stints:
            # Flee, end of Ecosystem.evolve: recent = (recent + km today / max speed) / 2.
            self.recent += self.moved_today / self.rules.max_move_speed_km
            self.recent *= 0.5
            self.moved_today[:] = 0.0

    def links(self) -> npt.NDArray[np.int32]:
        """Per agent, the network link id travelled (-1 if at a location)."""
        out = np.full(self.place.size, -1, dtype=np.int32)
        out[self.transit] = self.order[self.transit_link]
        return out


def run_flee_movement(
    fnet: FleeNetwork,
    n_agents: int,
    days: int,
    *,
    seed: int = 0,
    rules: FleeRules | None = None,
    capacity: npt.NDArray[np.int64] | None = None,
    on_day: Callable[[int], None] | None = None,
) -> FleeRunResult:
    """Simulate ``days`` days of Flee's movement rules for ``n_agents`` people.

    Parameters
    ----------
    fnet : FleeNetwork
        From :func:`corridor.flee.load_flee_network`.
    n_agents : int
        People, all placed at the conflict zones of day 0 (by population) on day 0.
    days : int
    seed : int
        Seed of the run's ``numpy.random.Generator``; same seed, same run.
    rules : FleeRules, optional
        Flee 3.1's defaults unless given.
    capacity : array of int, optional
        Per location, camp capacity (default: the file's ``pop/cap`` of camps). Below 1: unlimited.
    on_day : callable, optional
        Called with each day index after it is simulated.

    Returns
    -------
    FleeRunResult
    """
    rules = rules if rules is not None else FleeRules()
    _check_supported(fnet, rules)
    cap = fnet.capacity if capacity is None else np.asarray(capacity, dtype=np.int64)
    if cap.shape != (fnet.network.n_places,):
        raise ValueError(f"capacity must have one value per location ({fnet.network.n_places})")
    t0 = time.perf_counter()
    k = _Kernel(fnet, n_agents, rules, cap, np.random.default_rng(seed))
    setup = time.perf_counter() - t0

    daily = np.zeros((days, k.n_places), dtype=np.int64)
    transit = np.zeros(days, dtype=np.int64)
    start = time.perf_counter()
    for d in range(days):
        k.day(d)
        daily[d] = k.count
        transit[d] = k.transit.size
        if on_day is not None:
            on_day(d)
    wall = time.perf_counter() - start

    return FleeRunResult(
        names=list(fnet.names),
        daily_counts=daily,
        daily_in_transit=transit,
        peak_occupancy=k.peak,
        fill_at_departure=np.where(np.isfinite(k.fill_at_departure), k.fill_at_departure, np.nan),
        capacity=np.where(k.limited, k.cap, -1).astype(np.int64),
        place=k.place,
        link=k.links(),
        agent_steps=n_agents * days,
        wall_seconds=wall,
        setup_seconds=setup,
        population_bytes=k.place.nbytes + k.transit.nbytes + k.transit_link.nbytes + k.transit_km.nbytes,
    )
