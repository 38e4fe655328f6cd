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

__all__ = [
    "DERIVED",
    "EXIT_FLOWS",
    "EXTRA_STOCKS",
    "FLOWS",
    "PLACE_SERIES",
    "STOCKS",
    "Recorder",
    "Results",
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
#: Metrics without a nationality breakdown carry this label in the tidy table.
ALL = "all"

TIDY_COLUMNS = ("date", "metric", "place", "nationality", "value")


@dataclass(eq=False)
class Recorder:
    """Dense daily counters in agents: ``flows[day, flow, place, nationality]`` and stocks alike."""

    n_days: int
    n_places: int
    n_nationalities: int
    flows: npt.NDArray[np.int32] = field(init=False)
    stocks: npt.NDArray[np.int32] = field(init=False)
    extra_stocks: npt.NDArray[np.int32] = field(init=False)
    present: npt.NDArray[np.int64] = field(init=False)
    place_series: npt.NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        cells = (self.n_places, self.n_nationalities)
        self.flows = np.zeros((self.n_days, len(FLOWS), *cells), dtype=np.int32)
        self.stocks = np.zeros((self.n_days, len(STOCKS), *cells), dtype=np.int32)
        self.extra_stocks = np.zeros((self.n_days, len(EXTRA_STOCKS), *cells), dtype=np.int32)
        self.present = np.zeros(self.n_days, dtype=np.int64)
        self.place_series = np.zeros((self.n_days, len(PLACE_SERIES), self.n_places))
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

    # ----------------------------------------------------------------- views
    def metric_names(self) -> list[str]:
        """All metric names of the tidy table, in its order."""
        return ["present", *STOCKS, *EXTRA_STOCKS, *FLOWS, "exits", *PLACE_SERIES, *DERIVED]

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
        """The tidy table: one row per (date, metric, place, nationality) with a non-zero value.

        Rows that would hold 0 (or are undefined, like a ratio over zero capacity) are left
        out: an absent row means zero. Per-place metrics have nationality ``"all"``.
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
            parts.append(
                pd.DataFrame(
                    {
                        "date": d,
                        "metric": code,
                        "place": p,
                        "nationality": nat_codes[k],
                        "value": values[d, p, k],
                    }
                )
            )
        frame = pd.concat(parts, ignore_index=True)
        return pd.DataFrame(
            {
                "date": self.dates.values[frame["date"].to_numpy()].astype("datetime64[ms]"),
                "metric": pd.Categorical.from_codes(frame["metric"].to_numpy(), pd.Index(names)),
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
            data_vars[name] = (dims, arr, {"units": _unit(name)})
        return xr.Dataset(data_vars, coords=coords, attrs={k: str(v) for k, v in self.info.items()})

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
            if name.startswith("deaths_") or name == "asylum_wait_person_days":
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
