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

__all__ = [
    "EXIT_FLOWS",
    "FLOWS",
    "STOCKS",
    "Recorder",
    "Results",
]

#: End-of-day stocks, the parts of ``present``.
STOCKS: tuple[str, ...] = (
    "in_transit",
    "waiting",
    "detained",
    "asylum_pending",
    "border_waiting",
    "mpp_waiting",
)
#: Flows per day.
FLOWS: tuple[str, ...] = (
    "arrivals",
    "interdictions",
    "detentions",
    "detention_overflow_released",
    "deportations",
    "bused_south",
    "released",
    "us_encounters",
    "us_released",
    "us_removed",
    "us_returned_to_mexico",
    "us_evaded",
    "deaths",
    "settled",
    "returned_home",
)
#: Flows that take people out of the system; ``exits`` is their sum.
EXIT_FLOWS: tuple[str, ...] = (
    "deportations",
    "us_released",
    "us_removed",
    "us_evaded",
    "deaths",
    "settled",
    "returned_home",
)
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
    present: npt.NDArray[np.int64] = field(init=False)
    detention_capacity: npt.NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        shape = (self.n_days, 0, self.n_places, self.n_nationalities)
        self.flows = np.zeros((shape[0], len(FLOWS), *shape[2:]), dtype=np.int32)
        self.stocks = np.zeros((shape[0], len(STOCKS), *shape[2:]), dtype=np.int32)
        self.present = np.zeros(self.n_days, dtype=np.int64)
        self.detention_capacity = np.zeros((self.n_days, self.n_places))
        self._flow_index = {name: i for i, name in enumerate(FLOWS)}

    def add(
        self, day: int, flow: str, place: npt.NDArray[np.integer], nationality: npt.NDArray[np.integer]
    ) -> None:
        """Count one event per element of ``place``/``nationality`` into ``flow`` on ``day``."""
        if place.size == 0:
            return
        key = place.astype(np.intp) * self.n_nationalities + nationality
        counts = np.bincount(key, minlength=self.n_places * self.n_nationalities)
        self.flows[day, self._flow_index[flow]] += counts.reshape(self.n_places, self.n_nationalities).astype(
            np.int32
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


@dataclass(frozen=True, eq=False)
class Results:
    """The outcome of one run, in persons.

    Attributes
    ----------
    dates : DatetimeIndex
    places, nationalities : list of str
    scale : float
        Persons per agent.
    flows, stocks : ndarray
        ``(date, metric, place, nationality)`` in agents (see :data:`FLOWS`, :data:`STOCKS`).
    present_agents : ndarray
        Per day, agents counted present by the engine's own state mask (used by the
        identity check, independently of the stock breakdown).
    detention_capacity : ndarray
        ``(date, place)`` detention capacity in persons.
    info : dict
        Run facts (seed, scale, agents, wall seconds...) filled by :func:`corridor.simulate`.
    """

    dates: pd.DatetimeIndex
    places: list[str]
    nationalities: list[str]
    scale: float
    flows: npt.NDArray[np.int32]
    stocks: npt.NDArray[np.int32]
    present_agents: npt.NDArray[np.int64]
    detention_capacity: npt.NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------------- views
    def flow(self, name: str) -> npt.NDArray[np.float64]:
        """Flow ``name`` in persons, ``(date, place, nationality)``."""
        if name == "exits":
            idx = [FLOWS.index(f) for f in EXIT_FLOWS]
            return self.flows[:, idx].sum(axis=1).astype(np.float64) * self.scale
        return self.flows[:, FLOWS.index(name)].astype(np.float64) * self.scale

    def stock(self, name: str) -> npt.NDArray[np.float64]:
        """Stock ``name`` in persons, ``(date, place, nationality)``; ``present`` is the sum of all."""
        if name == "present":
            return self.stocks.sum(axis=1).astype(np.float64) * self.scale
        return self.stocks[:, STOCKS.index(name)].astype(np.float64) * self.scale

    def metric_names(self) -> list[str]:
        """All metric names of the tidy table, in its order."""
        return ["present", *STOCKS, *FLOWS, "exits", "detention_capacity"]

    def total(self, name: str) -> npt.NDArray[np.float64]:
        """Per day, metric ``name`` summed over places and nationalities (persons)."""
        if name == "detention_capacity":
            return self.detention_capacity.sum(axis=1)
        arr = self.stock(name) if name == "present" or name in STOCKS else self.flow(name)
        return arr.sum(axis=(1, 2))

    def to_frame(self) -> pd.DataFrame:
        """The tidy table: one row per (date, metric, place, nationality) with a non-zero value.

        Rows that would hold 0 are left out (an absent row means zero). ``detention_capacity``
        has nationality ``"all"``. Values are persons (agents times ``scale``).
        """
        parts = []
        n_nat = len(self.nationalities)
        for name in self.metric_names():
            if name == "detention_capacity":
                values = self.detention_capacity[:, :, None]
                nat_codes = np.array([n_nat])
            else:
                values = self.stock(name) if name == "present" or name in STOCKS else self.flow(name)
                nat_codes = np.arange(n_nat)
            d, p, k = np.nonzero(values)
            parts.append(
                pd.DataFrame(
                    {
                        "date": d,
                        "metric": self.metric_names().index(name),
                        "place": p,
                        "nationality": nat_codes[k],
                        "value": values[d, p, k].astype(np.float64),
                    }
                )
            )
        frame = pd.concat(parts, ignore_index=True)
        return pd.DataFrame(
            {
                "date": self.dates.values[frame["date"].to_numpy()].astype("datetime64[ms]"),
                "metric": pd.Categorical.from_codes(
                    frame["metric"].to_numpy(), pd.Index(self.metric_names())
                ),
                "place": pd.Categorical.from_codes(frame["place"].to_numpy(), pd.Index(self.places)),
                "nationality": pd.Categorical.from_codes(
                    frame["nationality"].to_numpy(), pd.Index([*self.nationalities, ALL])
                ),
                "value": frame["value"].to_numpy(),
            }
        )

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset``: one variable per metric over (date, place, nationality)."""
        import xarray as xr

        coords = {"date": self.dates, "place": self.places, "nationality": self.nationalities}
        data_vars: dict[str, Any] = {}
        for name in self.metric_names():
            if name == "detention_capacity":
                data_vars[name] = (("date", "place"), self.detention_capacity, {"units": "persons"})
            else:
                arr = self.stock(name) if name == "present" or name in STOCKS else self.flow(name)
                kind = "stock at end of day" if name == "present" or name in STOCKS else "flow per day"
                data_vars[name] = (("date", "place", "nationality"), arr, {"units": "persons", "kind": kind})
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
            rows.append({"metric": name, "kind": "flow", "total": self.total(name).sum()})
        for name in ("present", *STOCKS):
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
