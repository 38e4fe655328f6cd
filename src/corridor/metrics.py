"""Metrics: counters the phases fill, and the Results of a run.

Stocks are counted at the end of each day, flows as they happen, both by place and
nationality, in agents; :class:`Results` converts to persons (times ``scale``) and offers
the tidy table (``date, metric, place, nationality, value``), an xarray Dataset, and the
accounting identity check. ``docs/metrics.md`` defines every metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.errors import InputError
from corridor.geography import TRAVEL_MODES

__all__ = [
    "ASYLUM_WAIT_EDGES",
    "ASYLUM_WAIT_OUTCOMES",
    "DERIVED",
    "EXIT_FLOWS",
    "EXTRA_STOCKS",
    "FLOWS",
    "KINDS",
    "LINK_COUNTS",
    "PLACE_SERIES",
    "STOCKS",
    "MetricInfo",
    "Recorder",
    "Results",
    "flows_by_travel_mode",
    "metric_kind",
    "metric_names",
    "metric_table",
]

#: End-of-day stocks of the states, the parts of ``present``.
STOCKS: tuple[str, ...] = (
    "in_transit",
    "waiting",
    "detained",
    "asylum_pending",
    "border_waiting",
    "mpp_waiting",
)
#: End-of-day counts of people with some property (overlapping the states).
EXTRA_STOCKS: tuple[str, ...] = ("in_caravan", "metering_waitlist", "stranded")
#: Flows per day.
FLOWS: tuple[str, ...] = (
    "arrivals",
    "interdictions",
    "detentions",
    "detention_overflow_released",
    "detention_overflow_bused_south",
    "detention_transfers",
    "deportations",
    "bused_south",
    "released",
    "asylum_applications",
    "asylum_decisions",
    "asylum_recognised",
    "asylum_abandoned",
    "asylum_wait_person_days",
    "visas_issued",
    "cbp_one_bookings",
    "caravan_joined",
    "caravan_dispersed",
    "us_encounters",
    "us_released",
    "us_removed",
    "us_expelled",
    "mpp_returns",
    "mpp_hearings",
    "us_admitted_port",
    "us_evaded",
    "deaths",
    "deaths_foot",
    "deaths_bus",
    "deaths_rail",
    "deaths_sea",
    "deaths_trek",
    "deaths_river",
    "trips_foot",
    "trips_bus",
    "trips_rail",
    "trips_sea",
    "trips_trek",
    "settled",
    "returned_home",
)
#: Flows that take people out of the system; ``exits`` is their sum.
EXIT_FLOWS: tuple[str, ...] = (
    "deportations",
    "us_released",
    "us_removed",
    "us_admitted_port",
    "us_evaded",
    "deaths",
    "settled",
    "returned_home",
)
#: Per-place series without a nationality breakdown (persons).
PLACE_SERIES: tuple[str, ...] = ("detention_capacity", "shelter_capacity")
#: Metrics computed from the others: ``unsheltered`` (persons), ``detention_overcrowding``
#: (held / capacity) and ``asylum_wait_days`` (mean wait of the day's decisions). The last two
#: are ratios: do not sum them.
DERIVED: tuple[str, ...] = ("unsheltered", "detention_overcrowding", "asylum_wait_days")
#: Bins of the asylum waits (days waited since filing): left edges, the last bin open.
#: 30, 90 and 180 days are edges, so the shares waiting longer are exact.
ASYLUM_WAIT_EDGES: tuple[int, ...] = (0, 7, 14, 21, 30, 45, 60, 90, 120, 150, 180, 240, 300, 365, 545, 730)
#: What the asylum wait histogram counts: claims decided that day and claims abandoned that
#: day (flows, by the days they had waited), and claims pending at the end of the day
#: (a stock, by the days waited so far).
ASYLUM_WAIT_OUTCOMES: tuple[str, ...] = ("decided", "abandoned", "pending")

#: What is counted per directed link and day: people who finished the link (``trips``) and
#: people who died on it (``deaths``; not the deaths crossing into the US between ports).
LINK_COUNTS: tuple[str, ...] = ("trips", "deaths")

#: Metrics without a nationality breakdown carry this label in the tidy table.
ALL = "all"

TIDY_COLUMNS = ("date", "metric", "kind", "place", "nationality", "value")

#: What a metric's daily values are, and so how they may be added up:
#: ``flow`` (events of the day: sum over days, places, nationalities), ``stock`` (a count at
#: the end of the day: sum over places and nationalities, never over days; take a month's
#: last day or its mean), ``capacity`` (places available that day: like a stock),
#: ``ratio`` and ``mean`` (never summed: recompute from their parts).
KINDS: tuple[str, ...] = ("flow", "stock", "capacity", "ratio", "mean")


@dataclass(frozen=True)
class MetricInfo:
    """One metric of the tidy table: its name, kind (see :data:`KINDS`), unit and meaning."""

    name: str
    kind: str
    unit: str
    description: str


#: One line per metric (docs/metrics.md has the long form); a test checks none is missing.
_DESCRIPTIONS: dict[str, str] = {
    "present": "everyone in the system at the end of the day: the sum of the six state stocks",
    "in_transit": "on a route between places (at the place last left)",
    "waiting": "free at a place: resting, working, stranded, released with an exit order",
    "detained": "held in a detention station (may exceed detention_capacity)",
    "asylum_pending": "filed with COMAR and waiting for a decision, at the office's place",
    "border_waiting": "at a northern border city on a port's list or waiting for a CBP One appointment",
    "mpp_waiting": "returned to Mexico under Remain in Mexico, waiting for a hearing",
    "in_caravan": "members of a caravan (overlaps the state stocks)",
    "metering_waitlist": "border_waiting people at cities whose port keeps a metering list that day: "
    "metering, or frozen since it stopped (lists stayed after March 2020) while no CBP One "
    "appointments run (overlaps)",
    "stranded": "people at a place whose current state began 7 or more days ago (overlaps)",
    "arrivals": "entries into the system, re-entries of people deported or removed included",
    "interdictions": "people caught at checkpoints or in raids (a person caught twice counts twice)",
    "detentions": "admissions to a detention station",
    "detention_overflow_released": "caught but released on the spot because the station was full",
    "detention_overflow_bused_south": "caught with no station room in reach, bused south from a holding site",
    "detention_transfers": "admissions to a station other than the nearest because it was full (transfers)",
    "deportations": "returned to the country of origin from detention (exit)",
    "bused_south": "taken from detention back to southern Mexico instead of deported",
    "released": "released from detention with an exit order",
    "asylum_applications": "claims filed with COMAR",
    "asylum_decisions": "claims decided",
    "asylum_recognised": "claims decided and recognised",
    "asylum_abandoned": "applicants who gave up waiting (or left with a caravan)",
    "asylum_wait_person_days": "days waited by those decided that day, summed",
    "visas_issued": "humanitarian visitor cards issued",
    "cbp_one_bookings": "CBP One appointments drawn",
    "caravan_joined": "people who set off with a caravan",
    "caravan_dispersed": "caravan members when the Guard broke the caravan up",
    "us_encounters": "US Border Patrol encounters between ports",
    "us_released": "released into the US after an encounter or an MPP hearing (exit)",
    "us_removed": "removed by the US to the country of origin (exit)",
    "us_expelled": "expelled to Mexico under Title 42; they may try again",
    "mpp_returns": "returned to Mexico under MPP to wait for a hearing",
    "mpp_hearings": "MPP hearings held",
    "us_admitted_port": "let in at a port of entry: metering intake or a CBP One appointment (exit)",
    "us_evaded": "crossed between ports without being met (exit)",
    "deaths": "dead or missing on the way or crossing into the US (exit)",
    "deaths_foot": "deaths on foot",
    "deaths_bus": "deaths on buses and roads",
    "deaths_rail": "deaths on freight trains",
    "deaths_sea": "deaths at sea",
    "deaths_trek": "deaths on jungle and desert treks",
    "deaths_river": "deaths crossing into the US between ports",
    "trips_foot": "people who finished a stretch of road on foot (counted at the place left)",
    "trips_bus": "people who finished a stretch of road by bus (counted at the place left)",
    "trips_rail": "people who finished a stretch of railway on freight trains (at the place left)",
    "trips_sea": "people who finished a sea crossing (counted at the place left)",
    "trips_trek": "people who finished a jungle or desert trek (counted at the place left)",
    "settled": "gave up the journey and stayed in Mexico (exit)",
    "returned_home": "gave up and went home on their own, or went home after a Title 42 expulsion (exit)",
    "exits": "everyone who left the system that day (the sum of the exit flows)",
    "detention_capacity": "persons the detention stations at the place can hold under the day's policy",
    "shelter_capacity": "shelter places at the place",
    "unsheltered": "free people waiting at the place beyond its shelter places",
    "detention_overcrowding": "held / capacity at the place (recompute from detained and detention_capacity)",
    "asylum_wait_days": (
        "mean days waited by the claims decided that day (asylum_wait_person_days / asylum_decisions)"
    ),
}


def flows_by_travel_mode(prefix: str) -> npt.NDArray[np.intp]:
    """Per travel mode (:data:`~corridor.geography.TRAVEL_MODES`), the index in :data:`FLOWS`
    of ``<prefix>_<mode>`` (``trips``, ``deaths``)."""
    return np.array([FLOWS.index(f"{prefix}_{mode}") for mode in TRAVEL_MODES], dtype=np.intp)


def metric_kind(name: str) -> str:
    """The kind of metric ``name`` (one of :data:`KINDS`); an unknown name is an :class:`InputError`."""
    if name in FLOWS or name == "exits":
        return "flow"
    if name in PLACE_SERIES:
        return "capacity"
    if name == "detention_overcrowding":
        return "ratio"
    if name == "asylum_wait_days":
        return "mean"
    if name in ("present", "unsheltered", *STOCKS, *EXTRA_STOCKS):
        return "stock"
    raise InputError(f"unknown metric {name!r}")


def metric_names() -> list[str]:
    """All metric names of the tidy table, in its order."""
    return ["present", *STOCKS, *EXTRA_STOCKS, *FLOWS, "exits", *PLACE_SERIES, *DERIVED]


def metric_table() -> pd.DataFrame:
    """Every metric of the tidy table: ``metric, kind, unit, description`` (``metrics.csv``).

    The kind says how values add up: sum ``flow`` rows over days; take ``stock`` and
    ``capacity`` rows on one day (a month's last day) or average them over days, never sum
    them over days; never sum ``ratio`` or ``mean`` rows.
    """
    rows = [
        MetricInfo(name, metric_kind(name), _unit(name), _DESCRIPTIONS.get(name, ""))
        for name in metric_names()
    ]
    return pd.DataFrame(
        {
            "metric": [r.name for r in rows],
            "kind": [r.kind for r in rows],
            "unit": [r.unit for r in rows],
            "description": [r.description for r in rows],
        }
    )


@dataclass(eq=False)
class Recorder:
    """Dense daily counters in agents: ``flows[day, flow, place, nationality]`` and stocks alike."""

    n_days: int
    n_places: int
    n_nationalities: int
    n_links: int = 0
    flows: npt.NDArray[np.int32] = field(init=False)
    stocks: npt.NDArray[np.int32] = field(init=False)
    extra_stocks: npt.NDArray[np.int32] = field(init=False)
    present: npt.NDArray[np.int64] = field(init=False)
    place_series: npt.NDArray[np.float64] = field(init=False)
    asylum_waits: npt.NDArray[np.int32] = field(init=False)
    link_counts: npt.NDArray[np.int32] = field(init=False)

    def __post_init__(self) -> None:
        cells = (self.n_places, self.n_nationalities)
        self.flows = np.zeros((self.n_days, len(FLOWS), *cells), dtype=np.int32)
        self.stocks = np.zeros((self.n_days, len(STOCKS), *cells), dtype=np.int32)
        self.extra_stocks = np.zeros((self.n_days, len(EXTRA_STOCKS), *cells), dtype=np.int32)
        self.present = np.zeros(self.n_days, dtype=np.int64)
        self.place_series = np.zeros((self.n_days, len(PLACE_SERIES), self.n_places))
        shape = (self.n_days, len(ASYLUM_WAIT_OUTCOMES), len(ASYLUM_WAIT_EDGES))
        self.asylum_waits = np.zeros(shape, dtype=np.int32)
        self.link_counts = np.zeros((self.n_days, len(LINK_COUNTS), self.n_links), dtype=np.int32)
        self._flow_index = {name: i for i, name in enumerate(FLOWS)}

    def _count(
        self, place: npt.NDArray[np.integer], nationality: npt.NDArray[np.integer]
    ) -> npt.NDArray[np.int32]:
        key = place.astype(np.intp) * self.n_nationalities + nationality
        counts = np.bincount(key, minlength=self.n_places * self.n_nationalities)
        return counts.reshape(self.n_places, self.n_nationalities).astype(np.int32)

    def add(
        self,
        day: int,
        flow: str,
        place: npt.NDArray[np.integer],
        nationality: npt.NDArray[np.integer],
        weight: npt.NDArray[np.integer] | None = None,
    ) -> None:
        """Count one event per element (or ``weight`` events) into ``flow`` on ``day``."""
        if place.size == 0:
            return
        if weight is None:
            self.flows[day, self._flow_index[flow]] += self._count(place, nationality)
            return
        key = place.astype(np.intp) * self.n_nationalities + nationality
        counts = np.bincount(key, weights=weight, minlength=self.n_places * self.n_nationalities)
        self.flows[day, self._flow_index[flow]] += (
            np.rint(counts).astype(np.int32).reshape(self.n_places, self.n_nationalities)
        )

    def set_stocks(
        self,
        day: int,
        state_index: npt.NDArray[np.integer],
        place: npt.NDArray[np.integer],
        nationality: npt.NDArray[np.integer],
    ) -> None:
        """Record end-of-day stocks from present agents' stock index, place and nationality."""
        p, n = self.n_places, self.n_nationalities
        key = (state_index.astype(np.intp) * p + place) * n + nationality
        counts = np.bincount(key, minlength=len(STOCKS) * p * n)
        self.stocks[day] = counts.reshape(len(STOCKS), p, n)
        self.present[day] = state_index.size

    def add_links(self, day: int, what: str, link: npt.NDArray[np.integer]) -> None:
        """Count one ``what`` (one of :data:`LINK_COUNTS`) per element of ``link`` (directed link ids)."""
        if link.size and self.n_links:
            counts = np.bincount(link.astype(np.intp), minlength=self.n_links)
            self.link_counts[day, LINK_COUNTS.index(what)] += counts.astype(np.int32)

    def add_asylum_waits(self, day: int, outcome: str, waited_days: npt.NDArray[np.integer]) -> None:
        """Count claims by days waited into the histogram of ``outcome`` (:data:`ASYLUM_WAIT_OUTCOMES`)."""
        if waited_days.size == 0:
            return
        bins = np.searchsorted(ASYLUM_WAIT_EDGES, waited_days, side="right") - 1
        counts = np.bincount(np.maximum(bins, 0), minlength=len(ASYLUM_WAIT_EDGES))
        self.asylum_waits[day, ASYLUM_WAIT_OUTCOMES.index(outcome)] += counts.astype(np.int32)

    def set_extra(
        self, day: int, name: str, place: npt.NDArray[np.integer], nationality: npt.NDArray[np.integer]
    ) -> None:
        """Record the end-of-day count of one of :data:`EXTRA_STOCKS`."""
        self.extra_stocks[day, EXTRA_STOCKS.index(name)] = self._count(place, nationality)


@dataclass(frozen=True, eq=False)
class Results:
    """The outcome of one run, in persons.

    Attributes
    ----------
    dates : DatetimeIndex
    places, nationalities : list of str
    scale : float
        Persons per agent.
    flows, stocks, extra_stocks : ndarray
        ``(date, metric, place, nationality)`` in agents (see :data:`FLOWS`, :data:`STOCKS`,
        :data:`EXTRA_STOCKS`).
    present_agents : ndarray
        Per day, agents counted present by the engine's own state mask (used by the
        identity check, independently of the stock breakdown).
    place_series : ndarray
        ``(date, series, place)`` capacities in persons (see :data:`PLACE_SERIES`).
    info : dict
        Run facts (seed, scale, agents, wall seconds...) filled by :func:`corridor.simulate`.
    """

    dates: pd.DatetimeIndex
    places: list[str]
    nationalities: list[str]
    scale: float
    flows: npt.NDArray[np.int32]
    stocks: npt.NDArray[np.int32]
    extra_stocks: npt.NDArray[np.int32]
    present_agents: npt.NDArray[np.int64]
    place_series: npt.NDArray[np.float64]
    place_kinds: list[str] = field(default_factory=list)  #: kind of each place (geography)
    info: dict[str, Any] = field(default_factory=dict)
    #: ``(date, outcome, bin)`` claims in agents by days waited (:data:`ASYLUM_WAIT_EDGES`,
    #: :data:`ASYLUM_WAIT_OUTCOMES`); None for results made without it.
    asylum_wait_counts: npt.NDArray[np.int32] | None = None
    #: ``(date, what, link)`` in agents (:data:`LINK_COUNTS`); ``links`` (``route``,
    #: ``travel_mode`` of each directed link) and ``routes_table`` (``from, to, route_mode``
    #: of each route); None for results made without them.
    link_counts: npt.NDArray[np.int32] | None = None
    links: pd.DataFrame | None = None
    routes_table: pd.DataFrame | None = None

    # ----------------------------------------------------------------- views
    def metric_names(self) -> list[str]:
        """All metric names of the tidy table, in its order."""
        return metric_names()

    def by_nationality(self, name: str) -> bool:
        """Whether metric ``name`` is broken down by nationality (else it is per place only)."""
        return name not in PLACE_SERIES and name not in DERIVED

    def flow(self, name: str) -> npt.NDArray[np.float64]:
        """Flow ``name`` (or ``exits``) in persons, ``(date, place, nationality)``."""
        if name == "exits":
            idx = [FLOWS.index(f) for f in EXIT_FLOWS]
            return self.flows[:, idx].sum(axis=1).astype(np.float64) * self.scale
        return self.flows[:, _index(FLOWS, name, "flow")].astype(np.float64) * self.scale

    def stock(self, name: str) -> npt.NDArray[np.float64]:
        """Stock ``name`` in persons, ``(date, place, nationality)``; ``present`` is the sum of the states."""
        if name == "present":
            return self.stocks.sum(axis=1).astype(np.float64) * self.scale
        if name in EXTRA_STOCKS:
            return self.extra_stocks[:, EXTRA_STOCKS.index(name)].astype(np.float64) * self.scale
        return self.stocks[:, _index(STOCKS, name, "stock")].astype(np.float64) * self.scale

    def per_place(self, name: str) -> npt.NDArray[np.float64]:
        """A per-place metric (capacities and derived ratios), ``(date, place)``; NaN where undefined."""
        if name in PLACE_SERIES:
            return self.place_series[:, PLACE_SERIES.index(name)]
        if name == "unsheltered":
            free = self.stock("waiting").sum(axis=2)
            return np.maximum(free - self.per_place("shelter_capacity"), 0.0)
        if name == "detention_overcrowding":
            cap = self.per_place("detention_capacity")
            held = self.stock("detained").sum(axis=2)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(cap > 0, held / cap, np.nan)
        if name == "asylum_wait_days":
            decided = self.flow("asylum_decisions").sum(axis=2)
            waited = self.flow("asylum_wait_person_days").sum(axis=2)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(decided > 0, waited / decided, np.nan)
        raise InputError(f"unknown per-place metric {name!r} (one of {', '.join((*PLACE_SERIES, *DERIVED))})")

    def values(self, name: str) -> npt.NDArray[np.float64]:
        """Metric ``name``: ``(date, place, nationality)``, or ``(date, place)`` for per-place metrics."""
        if not self.by_nationality(name):
            return self.per_place(name)
        if name == "present" or name in STOCKS or name in EXTRA_STOCKS:
            return self.stock(name)
        return self.flow(name)

    def total(self, name: str) -> npt.NDArray[np.float64]:
        """Per day, metric ``name`` summed over places and nationalities (persons; not for ratios)."""
        arr = self.values(name)
        return np.nansum(arr.reshape(arr.shape[0], -1), axis=1)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table: ``date, metric, kind, place, nationality, value``.

        ``kind`` is the metric's kind (see :func:`metric_table`): sum ``flow`` rows over
        days, never ``stock``, ``capacity``, ``ratio`` or ``mean`` rows. Rows that would hold
        0 (or are undefined, like a ratio over zero capacity) are left out: an absent row
        means zero. A metric that is zero all run long is still present: it has a row of 0
        a day with no place (null) and nationality ``"all"``, so a query for it finds zeros,
        not nothing.
        Per-place metrics have nationality ``"all"``.
        """
        parts = []
        n_nat = len(self.nationalities)
        names = self.metric_names()
        for code, name in enumerate(names):
            values = self.values(name)
            if values.ndim == 2:
                values = values[:, :, None]
                nat_codes = np.array([n_nat])
            else:
                nat_codes = np.arange(n_nat)
            d, p, k = np.nonzero(np.nan_to_num(values))
            if d.size:
                value = values[d, p, k]
                nationality = nat_codes[k]
            else:  # zero all run long: a 0 a day at no place, so the metric is not missing
                d = np.arange(values.shape[0])
                p = np.full(d.size, -1)  # no place: a null place in the table
                value = np.zeros(d.size)
                nationality = np.full(d.size, n_nat)
            parts.append(
                pd.DataFrame(
                    {"date": d, "metric": code, "place": p, "nationality": nationality, "value": value}
                )
            )
        frame = pd.concat(parts, ignore_index=True)
        codes = frame["metric"].to_numpy()
        kinds = pd.Index(KINDS)
        kind_codes = np.array([kinds.get_loc(metric_kind(n)) for n in names])[codes]
        return pd.DataFrame(
            {
                "date": self.dates.values[frame["date"].to_numpy()].astype("datetime64[ms]"),
                "metric": pd.Categorical.from_codes(codes, pd.Index(names)),
                "kind": pd.Categorical.from_codes(kind_codes, kinds),
                "place": pd.Categorical.from_codes(frame["place"].to_numpy(), pd.Index(self.places)),
                "nationality": pd.Categorical.from_codes(
                    frame["nationality"].to_numpy(), pd.Index([*self.nationalities, ALL])
                ),
                "value": frame["value"].to_numpy(dtype=np.float64),
            }
        )

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset``: one variable per metric over (date, place[, nationality])."""
        import xarray as xr

        coords = {"date": self.dates, "place": self.places, "nationality": self.nationalities}
        data_vars: dict[str, Any] = {}
        for name in self.metric_names():
            arr = self.values(name)
            dims = ("date", "place", "nationality")[: arr.ndim]
            data_vars[name] = (dims, arr, {"units": _unit(name), "kind": metric_kind(name)})
        return xr.Dataset(data_vars, coords=coords, attrs={k: str(v) for k, v in self.info.items()})

    def asylum_waits(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """How long asylum applicants waited, as a distribution, between ``start`` and ``end``.

        Three rows: claims ``decided`` and ``abandoned`` in the period (by the days they had
        waited), and claims ``pending`` on its last day (by the days waited so far). Columns:
        ``claims`` (persons), ``median_days`` (interpolated within the bins of
        :data:`ASYLUM_WAIT_EDGES`), and ``share_over_30_days``, ``_90_``, ``_180_`` (exact:
        those are bin edges). Waits count from the day of filing.

        Parameters
        ----------
        start, end : date-like, optional
            The period (inclusive); default the whole horizon.
        """
        if self.asylum_wait_counts is None:
            raise InputError("these results hold no asylum waits (made by an older corridor)")
        days = self._days(start, end)
        counts = self.asylum_wait_counts.astype(np.float64) * self.scale
        per_outcome = {
            "decided": counts[days, 0].sum(axis=0),
            "abandoned": counts[days, 1].sum(axis=0),
            "pending": counts[days[-1], 2],
        }
        edges = np.asarray(ASYLUM_WAIT_EDGES, dtype=np.float64)
        rows = []
        for outcome, hist in per_outcome.items():
            n = float(hist.sum())
            row: dict[str, Any] = {
                "outcome": outcome,
                "claims": n,
                "median_days": _median_of_bins(hist, edges),
            }
            for threshold in (30, 90, 180):
                over = hist[edges >= threshold].sum()
                row[f"share_over_{threshold}_days"] = over / n if n > 0 else np.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("outcome")

    def routes(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """People and deaths by route and travel mode between ``start`` and ``end`` (persons).

        One row per route and travel mode used on it (a road is travelled on foot or by bus):
        ``route, from, to, route_mode`` (road, rail, sea, trek), ``travel_mode``, ``trips``
        (people who finished the route that way, both directions; a person who takes it
        twice counts twice), ``deaths`` (dead or missing on it), ``deaths_per_1000_trips``.
        Deaths at crossings into the US between ports are on no route (``deaths_river``).
        """
        if self.link_counts is None or self.links is None or self.routes_table is None:
            raise InputError("these results hold no route counts (made by an older corridor)")
        days = self._days(start, end)
        counts = self.link_counts[days].sum(axis=0).astype(np.float64) * self.scale
        frame = self.links.assign(
            trips=counts[LINK_COUNTS.index("trips")], deaths=counts[LINK_COUNTS.index("deaths")]
        )
        table = frame.groupby(["route", "travel_mode"], as_index=False)[["trips", "deaths"]].sum()
        table = table.join(self.routes_table, on="route")
        with np.errstate(divide="ignore", invalid="ignore"):
            table["deaths_per_1000_trips"] = np.where(
                table["trips"] > 0, 1000 * table["deaths"] / table["trips"], np.nan
            )
        columns = ["route", "from", "to", "route_mode", "travel_mode", "trips", "deaths"]
        return table[[*columns, "deaths_per_1000_trips"]].sort_values(
            ["trips", "deaths"], ascending=False, ignore_index=True
        )

    def _days(self, start: Any, end: Any) -> npt.NDArray[np.intp]:
        """Indices of the simulated days from ``start`` to ``end`` (inclusive; default all)."""
        first = pd.Timestamp(start) if start is not None else self.dates[0]
        last = pd.Timestamp(end) if end is not None else self.dates[-1]
        days = np.flatnonzero((self.dates >= first) & (self.dates <= last))
        if days.size == 0:
            raise InputError(f"no simulated day between {start} and {end}")
        return days

    def __repr__(self) -> str:
        """One line: scenario, dates, places, nationalities and scale (not the arrays)."""
        span = f"{self.dates[0]:%Y-%m-%d} to {self.dates[-1]:%Y-%m-%d}" if len(self.dates) else "no days"
        return (
            f"Results({self.info.get('scenario', '?')!r}, {span}, {len(self.places)} places, "
            f"{len(self.nationalities)} nationalities, {self.scale:.3g} persons per agent)"
        )

    def _repr_html_(self) -> str:
        """A short summary for notebooks: the run's facts and main outcomes."""
        from corridor.notebook import results_html

        return results_html(self)

    # ----------------------------------------------------------------- checks
    def identity_check(self) -> dict[str, Any]:
        """Check the books: every day, present = cumulative arrivals - cumulative exits.

        Also checks that the state stocks add up to the engine's independent count of
        present agents. Returns the largest discrepancies (persons) and whether both hold.
        """
        # In agents, integers: exact. Gaps are reported in persons.
        exits = [FLOWS.index(f) for f in EXIT_FLOWS]
        per_day = self.flows.sum(axis=(2, 3), dtype=np.int64)
        balance = np.cumsum(per_day[:, FLOWS.index("arrivals")]) - np.cumsum(per_day[:, exits].sum(axis=1))
        present = self.stocks.sum(axis=(1, 2, 3), dtype=np.int64)
        gap_balance = int(np.max(np.abs(present - balance), initial=0))
        gap_states = int(np.max(np.abs(present - self.present_agents), initial=0))
        return {
            "holds": gap_balance == 0 and gap_states == 0,
            "max_abs_gap_present_vs_arrivals_minus_exits": gap_balance * self.scale,
            "max_abs_gap_states_vs_present": gap_states * self.scale,
            "days_checked": int(present.size),
        }

    def summary(self) -> pd.DataFrame:
        """Totals over the horizon of each flow, and end-of-horizon and peak of each stock (persons)."""
        rows = []
        for name in (*FLOWS, "exits"):
            if name.startswith(("deaths_", "trips_")) or name == "asylum_wait_person_days":
                continue
            rows.append({"metric": name, "kind": "flow", "total": self.total(name).sum()})
        for name in ("present", *STOCKS, *EXTRA_STOCKS, "unsheltered"):
            series = self.total(name)
            rows.append(
                {
                    "metric": name,
                    "kind": "stock",
                    "end": series[-1] if series.size else 0.0,
                    "peak": series.max(initial=0),
                }
            )
        return pd.DataFrame(rows)


def _median_of_bins(hist: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]) -> float:
    """The median of a histogram over bins starting at ``edges`` (the last one ``edges[-1]``
    or more), interpolated linearly within its bin; NaN if empty, ``edges[-1]`` if in the last."""
    total = hist.sum()
    if total <= 0:
        return float("nan")
    cum = np.cumsum(hist)
    b = int(np.searchsorted(cum, total / 2))
    if b >= len(edges) - 1:
        return float(edges[-1])
    before = cum[b - 1] if b > 0 else 0.0
    share = (total / 2 - before) / hist[b] if hist[b] > 0 else 0.0
    return float(edges[b] + share * (edges[b + 1] - edges[b]))


def _index(names: tuple[str, ...], name: str, kind: str) -> int:
    """Position of metric ``name`` among ``names``; an unknown name is an :class:`InputError`."""
    if name not in names:
        raise InputError(f"unknown {kind} {name!r} (one of {', '.join(names)})")
    return names.index(name)


def _unit(name: str) -> str:
    if name == "detention_overcrowding":
        return "held / capacity"
    if name in ("asylum_wait_days", "asylum_wait_person_days"):
        return "days" if name == "asylum_wait_days" else "person-days"
    return "persons"
