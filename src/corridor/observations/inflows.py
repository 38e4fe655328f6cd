"""Inflows derived by a rule, as a function of the observed data and a cut-off date.

A scenario's inflow may say ``derived: RULE`` instead of listing its monthly persons. The
inflow is then computed here, when the scenario is compiled. Rules that read the observed
data shipped with corridor read **only periods that end before the cut-off**: the scenario's
``inputs_cutoff`` (by default the held-out date) for every series, except the upstream input
series of :data:`~corridor.observations.reader.INPUT_SERIES` (Honduras' irregular entries,
Darien crossings), which are read up to ``upstream_known_until`` where the scenario gives it
(a forecast "given the observed upstream inflows"). A backtest at origin T sets the cut-off to
T, so the inputs of a forecast made at T are re-derived from what was known before T, never
from a one-off file written with later data.

``upstream_entries`` (demand from upstream observations, no outcome read):

    inflow(n, m) = upstream_share x upstream(n, m)

where ``upstream`` is the count the inflow names (``upstream:``), or the larger of them:

- ``honduras``: Honduras' registered irregular entries of nationality n in m. Honduras to
  Mexico's southern border is roughly 1,000 km, a few days by bus, so the month of entry into
  Honduras is taken as the month of entry into Mexico (no lag). By nationality from January 2018.
- ``darien``: Panama's count of Darien crossings of nationality n, moved the scenario's
  ``darien_lag_days`` later (each month's count is spread evenly over its days, shifted, and
  summed again by month; a month only partly covered by known days is unknown). Monthly by
  nationality from January 2020.

Each count misses part of the flow: people flying to Nicaragua are in Honduras' count but not
Panama's, and Honduras registered few of those who came through the Darien in 2021 (Haitians:
17,000 Darien crossings a month, about 1,000 Honduran registrations). With both, a month takes
the larger count, the better lower bound on the persons passing. Nationals of the CA-4
free-movement area (Guatemala, Honduras, El Salvador, Nicaragua) cross Honduras without being
registered as irregular entries, so the rule refuses them: they take ``latent``.

``latent`` (demand as parameters, no data read):

    inflow(n, m) = level x exp(trend x years since the horizon start)
                 x (1 + amplitude x cos(2 pi (month - peak) / 12))

with years counted in whole months from the horizon's first month (which has the level) and
month the calendar month (1-12).

``us_encounters_next_month`` (corridor 0.1's rule, kept so that backtests measure it):

    inflow(n, m) = US Border Patrol southwest encounters of nationality n in month m+1
                 + Mexico's UPM events of nationality n in month m

People reaching the US border were counted about a month after entering Mexico (2,000-3,800
km: 2-5 weeks); people stopped in Mexico are counted by its events. Both count events, not
persons, and the rule reads the outcome series the model is later compared with: it is
circular inside the data, which is what the backtest measures (``docs/backtest.md``).

For the rules reading data, ``Other`` is the residual: the total minus Mexican nationals (US
side) and minus every other nationality the scenario lists. A month whose data end on or after
the cut-off takes the last derived month before it (a persistence forecast of the inflow: on
the upstream counts before December 2023 the last month misses by a median 0.31 in log at one
month ahead and 0.53 at two, the mean of the last three by 0.49 and 0.71; docs/backtest.md);
for ``upstream_entries``, the last month of the counts, unlagged (:func:`_upstream_known`). A
month before the data begin takes the mean of the first three.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from corridor.errors import ScenarioError
from corridor.observations.reader import HELD_OUT_FROM, INPUT_SERIES, load_observed, monthly_rows
from corridor.observations.resolve import _nationality_label

if TYPE_CHECKING:
    from corridor.scenario.schema import Demand, Scenario

#: The nationality label that stands for everyone the scenario does not list.
RESIDUAL = "Other"
#: Derived months averaged to fill a month before the data begin (past the cut-off: the last one).
FILL_MONTHS = 3
#: Series read by ``us_encounters_next_month``: (series, geography, labels left out of the residual).
_US = ("usbp_sw_encounters", "US Southwest land border", ("Mexico",))
_MX = ("mx_irregular_events", "Mexico", ())
#: Counts ``upstream_entries`` reads: name -> (series, geography). Darien crossings enter Mexico
#: the scenario's ``darien_lag_days`` later; Honduras' entries the same month.
UPSTREAM_COUNTS: dict[str, tuple[str, str]] = {
    "honduras": ("hn_irregular_entries", "Honduras"),
    "darien": ("darien_crossings", "Panama - Darien Gap"),
}
#: Rules that read observed data: each nationality is derived by at most one of them (two would
#: each take the whole count). ``latent`` may be given more than once (a route each).
_DATA_RULES = ("upstream_entries", "us_encounters_next_month")
#: The CA-4 free-movement area: its nationals cross Honduras without an irregular entry.
CA4: tuple[str, ...] = ("Guatemala", "Honduras", "El Salvador", "Nicaragua")


def upstream_lag_days(scenario: Scenario, count: str) -> float:
    """Days from an upstream count (a name of :data:`UPSTREAM_COUNTS`) to the entry into Mexico
    of the people it counts: the scenario's ``darien_lag_days`` for the Darien, 0 for Honduras."""
    return scenario.darien_lag_days if count == "darien" else 0.0


def inputs_cutoff(scenario: Scenario) -> pd.Timestamp:
    """The cut-off of the scenario's derived inputs: only periods ending before it are read."""
    return pd.Timestamp(scenario.inputs_cutoff) if scenario.inputs_cutoff is not None else HELD_OUT_FROM


@lru_cache(maxsize=1)
def _shipped_observations() -> pd.DataFrame:
    """The shipped observed data (held-out rows dropped), read once per process."""
    return load_observed()


def monthly_counts(observed: pd.DataFrame, series: str, geography: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Monthly values of one series: rows are months (``Period``), columns nationality labels
    (``all`` for the total). Only whole calendar months ending before ``cutoff`` are read;
    where two releases give a month, the larger is kept (revisions add late records)."""
    rows = monthly_rows(observed[(observed["series"] == series) & (observed["geography"] == geography)])
    rows = rows[(pd.to_datetime(rows["period_end"]) < cutoff).to_numpy()]
    frame = pd.DataFrame(
        {
            "month": rows["month"],
            "label": rows["breakdown"].map(_nationality_label),
            "value": rows["value"].astype(float),
        }
    )
    return frame.pivot_table(index="month", columns="label", values="value", aggfunc="max")


def _nationality_counts(
    table: pd.DataFrame, nationality: str, listed: list[str], drop: tuple[str, ...]
) -> pd.Series:
    """A nationality's monthly counts; the residual is the total minus ``drop`` and ``listed``."""
    if nationality != RESIDUAL:
        return table[nationality] if nationality in table else pd.Series(np.nan, index=table.index)
    if "all" not in table:
        return pd.Series(np.nan, index=table.index)
    named = [c for c in (*drop, *listed) if c != RESIDUAL]
    missing = [c for c in named if c not in table]
    parts = table.reindex(columns=named)
    residual = table["all"] - parts.sum(axis=1, min_count=len(named) or 1)
    if missing:  # the residual cannot be formed without every named part
        residual[:] = np.nan
    return residual.clip(lower=0.0)


def _fill(
    known: pd.Series, months: pd.PeriodIndex, latest: tuple[float, str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """Values for ``months``: derived where known; after the known months the last of them (or
    ``latest``, a value and its basis, where a rule knows a later one), before them the mean of
    the first three."""
    known = known.dropna().sort_index()
    lookup = dict(zip(known.index, known.to_numpy(dtype=float), strict=True))
    values, basis = [], []
    for month in months:
        if month in lookup:
            values.append(float(lookup[month]))
            basis.append("data")
            continue
        before = known[known.index < month]
        if len(before) and latest is not None and month > known.index[-1]:
            values.append(latest[0])
            basis.append(latest[1])
        elif len(before):
            values.append(float(before.iloc[-1]))
            basis.append(f"last derived month ({before.index[-1]})")
        else:
            first = known.iloc[:FILL_MONTHS]
            values.append(float(first.mean()))
            basis.append(f"mean of the first {len(first)} derived months")
    return pd.Series(values, index=months), pd.Series(basis, index=months)


def upstream_cutoff(scenario: Scenario) -> pd.Timestamp:
    """The cut-off of the upstream input series: ``upstream_known_until``, else :func:`inputs_cutoff`."""
    known = scenario.upstream_known_until
    return pd.Timestamp(known) if known is not None else inputs_cutoff(scenario)


def series_cutoff(scenario: Scenario, series: str) -> pd.Timestamp:
    """The cut-off of one observed series: upstream inputs may be known longer than outcomes."""
    return upstream_cutoff(scenario) if series in INPUT_SERIES else inputs_cutoff(scenario)


def latent_demand(demand: Demand, start: dt.date, months: pd.PeriodIndex) -> pd.Series:
    """Monthly persons of the ``latent`` rule over ``months`` (``start``: the horizon's first day).

    Parameters
    ----------
    demand : Demand
        Level (persons per month at the horizon's first month), trend per year, seasonal
        amplitude and peak month.
    start : date
        The horizon's first day; its month has ``trend`` factor 1.
    months : PeriodIndex
        Monthly periods.

    Returns
    -------
    Series
        Persons per month, indexed by ``months``.
    """
    first = pd.Period(start, freq="M")
    elapsed = (months.year - first.year) * 12 + (months.month - first.month)
    years = np.asarray(elapsed, dtype=float) / 12.0
    calendar_month = np.asarray(months.month, dtype=float)
    season = 1.0 + demand.seasonal_amplitude * np.cos(
        2.0 * np.pi * (calendar_month - demand.seasonal_peak_month) / 12.0
    )
    persons = demand.level_persons_per_month * np.exp(demand.trend_per_year * years) * season
    return pd.Series(persons, index=months)


class _Tables:
    """Monthly tables of the series a scenario's rules read, each read once, only when needed."""

    def __init__(self, scenario: Scenario, observed: pd.DataFrame | None) -> None:
        self.scenario, self.observed = scenario, observed
        self.tables: dict[str, pd.DataFrame] = {}

    def __call__(self, series: str, geography: str) -> pd.DataFrame:
        if series not in self.tables:
            cutoff = series_cutoff(self.scenario, series)
            if self.observed is None:  # the shipped data: the same tables in every run
                self.tables[series] = _shipped_counts(series, geography, cutoff)
            else:
                self.tables[series] = monthly_counts(self.observed, series, geography, cutoff)
        return self.tables[series]


#: Monthly tables of the shipped data already made: key -> (the observations read, the table).
_COUNTS: dict[tuple[int, str, str, pd.Timestamp], tuple[pd.DataFrame, pd.DataFrame]] = {}


def _shipped_counts(series: str, geography: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    """:func:`monthly_counts` of the shipped data, kept: a backtest derives the same inflows in
    every run of an origin. Kept per observations object (a test that swaps the shipped data
    gets its own tables); read only (the rules derive new frames from it)."""
    observed = _shipped_observations()
    key = (id(observed), series, geography, cutoff)
    kept = _COUNTS.get(key)
    if kept is None or kept[0] is not observed:
        if len(_COUNTS) >= 64:
            _COUNTS.clear()
        kept = _COUNTS[key] = (observed, monthly_counts(observed, series, geography, cutoff))
    return kept[1]


def _no_data(index: int, message: str) -> ScenarioError:
    return ScenarioError([(f"inflows.{index}.derived", None, message)])


def _us_encounters_known(scenario: Scenario, index: int, tables: _Tables) -> pd.Series:
    """Derived months of ``us_encounters_next_month`` (US encounters of m+1, Mexico's events of m)."""
    nationality = scenario.inflows[index].nationality
    others = [n for n in scenario.nationalities if n != nationality]
    us = _nationality_counts(tables(_US[0], _US[1]), nationality, others, _US[2])
    mx = _nationality_counts(tables(_MX[0], _MX[1]), nationality, others, _MX[2])
    us_next = us.copy()
    us_next.index = us_next.index - 1  # encounters of m+1 stand for entries of m
    known = (us_next + mx.reindex(us_next.index.union(mx.index))).dropna()
    if known.empty:
        raise _no_data(
            index,
            f"no US encounters and Mexican events of {nationality!r} end before the inputs cut-off "
            f"{inputs_cutoff(scenario):%Y-%m-%d} (expected a nationality of the observed data)",
        )
    return known


def lagged_months(counts: pd.Series, lag_days: float) -> pd.Series:
    """Monthly counts moved ``lag_days`` later: each month's count spread evenly over its days,
    shifted, and summed by month again. Months not wholly covered by known days are dropped
    (the month after the last known one, and months beside gaps, get part of a month).

    Parameters
    ----------
    counts : Series
        Persons per month, indexed by monthly ``Period``; missing months are unknown.
    lag_days : float
        Days between the count and the entry into Mexico (0: the counts unchanged).

    Returns
    -------
    Series
        Persons per month, indexed by the wholly covered monthly periods.
    """
    counts = counts.dropna()
    if lag_days == 0 or counts.empty:
        return counts
    months = pd.PeriodIndex(counts.index)
    days_in = np.asarray(months.days_in_month, dtype=np.int64)
    day = pd.DatetimeIndex(
        np.concatenate(
            [
                pd.date_range(m.start_time, periods=int(n), freq="D")
                for m, n in zip(months, days_in, strict=True)
            ]
        )
    )
    rate = np.repeat(counts.to_numpy(dtype=float) / days_in, days_in)
    moved = pd.Series(rate, index=(day + pd.Timedelta(days=lag_days)).to_period("M"))
    sums = moved.groupby(level=0).agg(["sum", "size"])
    whole = sums["size"].to_numpy() == np.asarray(pd.PeriodIndex(sums.index).days_in_month)
    out: pd.Series = sums.loc[whole, "sum"]
    return out


def _upstream_known(scenario: Scenario, index: int, tables: _Tables) -> tuple[pd.Series, tuple[float, str]]:
    """Derived months of ``upstream_entries``: upstream_share x the month's upstream count (the
    larger of the counts named, each moved by its lag); and the value past them, with its basis:
    upstream_share x the larger count of the latest month a count knows, not moved. A lagged count's last
    derived month mixes that month with the one before it (the Darien's November 2022, two weeks
    of October's 40,593 Venezuelans and two of November's 668), while its last month is known
    whole: persistence carries the latest count forward, not a mix that is half a month older."""
    inflow = scenario.inflows[index]
    nationality = inflow.nationality
    if nationality in CA4:
        raise _no_data(
            index,
            f"{nationality!r} is a CA-4 nationality: its people cross Honduras without being registered "
            "as irregular entries (the counts are near 0); use derived: latent",
        )
    others = [n for n in scenario.nationalities if n != nationality]
    parts, problems, last = [], [], []
    for name in inflow.upstream:
        series, geography = UPSTREAM_COUNTS[name]
        table = tables(series, geography)
        raw = _nationality_counts(table, nationality, others, ()).dropna()
        counts = lagged_months(raw, upstream_lag_days(scenario, name))
        if not counts.empty:
            parts.append(counts)
            last.append((float(raw.iloc[-1]), raw.index[-1]))
            continue
        counted = sorted(c for c in table.columns if c not in ("all", RESIDUAL, *CA4))
        missing = [n for n in others if n != RESIDUAL and n not in table]
        problems.append(
            f"{series}: "
            + (
                f"the residual needs the counts of every other nationality listed; none for "
                f"{', '.join(map(repr, missing))}"
                if nationality == RESIDUAL and missing
                else f"expected one of {', '.join(counted) or 'none'}, or {RESIDUAL!r}"
            )
        )
    if not parts:
        raise _no_data(
            index,
            f"no upstream counts of {nationality!r} end before the upstream cut-off "
            f"{upstream_cutoff(scenario):%Y-%m-%d} ({'; '.join(problems)})",
        )
    # The latest month any count knows, and the larger count of it (a count that stops earlier
    # would carry an older month forward).
    month = max(m for _, m in last)
    value = max(v for v, m in last if m == month)
    known = inflow.upstream_share * pd.concat(parts, axis=1).max(axis=1).sort_index()
    return known, (inflow.upstream_share * value, f"last upstream count ({month})")


def derive_inflows(scenario: Scenario, observed: pd.DataFrame | None = None) -> pd.DataFrame:
    """The monthly persons of every derived inflow of ``scenario``, over its horizon.

    Parameters
    ----------
    scenario : Scenario
    observed : DataFrame, optional
        Observations as :func:`corridor.observations.reader.load_observed` returns them
        (default: the shipped data, read only if a rule needs them). Rows whose period ends
        on or after the series' cut-off (:func:`series_cutoff`) are never read.

    Returns
    -------
    DataFrame
        Columns ``inflow`` (its number in ``scenario.inflows``), ``month`` (YYYY-MM),
        ``nationality``, ``persons``, ``basis`` (``data``, how a month without data was filled,
        or ``latent demand``). An inflow's ``until`` is applied per day by the timeline, not here.

    Raises
    ------
    ScenarioError
        A nationality is derived from data twice, or a rule has no observed data of it before the cut-off
        (or cannot count it: ``upstream_entries`` of a CA-4 nationality).
    """
    columns = ["inflow", "month", "nationality", "persons", "basis"]
    if all(inflow.derived is None for inflow in scenario.inflows):
        return pd.DataFrame(columns=columns)  # nothing to read
    months = pd.period_range(scenario.horizon.start, scenario.horizon.end, freq="M")
    tables = _Tables(scenario, observed)
    frames = []
    seen: set[str] = set()
    for i, inflow in enumerate(scenario.inflows):
        if inflow.derived is None:
            continue
        if inflow.derived in _DATA_RULES:
            if inflow.nationality in seen:  # each would get the whole count
                raise ScenarioError(
                    [
                        (
                            f"inflows.{i}.derived",
                            None,
                            f"{inflow.nationality!r} is derived from data twice; derive it from data "
                            "once (a second route may take derived: latent)",
                        )
                    ]
                )
            seen.add(inflow.nationality)
        if inflow.derived == "latent":
            assert inflow.demand is not None  # the schema requires it
            persons = latent_demand(inflow.demand, scenario.horizon.start, months)
            basis = pd.Series("latent demand", index=months)
        else:
            if inflow.derived == "upstream_entries":
                known, latest = _upstream_known(scenario, i, tables)
                persons, basis = _fill(known, months, latest)
            else:
                persons, basis = _fill(_us_encounters_known(scenario, i, tables), months)
        frames.append(
            pd.DataFrame(
                {
                    "inflow": i,
                    "month": months.strftime("%Y-%m"),
                    "nationality": inflow.nationality,
                    "persons": persons.to_numpy(),
                    "basis": basis.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "CA4",
    "UPSTREAM_COUNTS",
    "derive_inflows",
    "inputs_cutoff",
    "lagged_months",
    "latent_demand",
    "monthly_counts",
    "series_cutoff",
    "upstream_cutoff",
]
