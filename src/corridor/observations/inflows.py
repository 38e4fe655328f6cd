"""Inflows derived from observed data, as a function of the data and a cut-off date.

A scenario's inflow may say ``derived: us_encounters_next_month`` instead of listing its
monthly persons. The inflow is then computed here, when the scenario is compiled, from the
observed data shipped with corridor, reading **only periods that end before the cut-off**
(the scenario's ``inputs_cutoff``, by default the held-out date). A backtest at origin T
sets the cut-off to T, so the inputs of a forecast made at T are re-derived from what was
known before T, never from a one-off file written with later data.

The rule ``us_encounters_next_month`` (corridor 0.1's rule, kept so that backtests measure
today's model):

    inflow(n, m) = US Border Patrol southwest encounters of nationality n in month m+1
                 + Mexico's UPM events of nationality n in month m

People reaching the US border were counted about a month after entering Mexico (2,000-3,800
km: 2-5 weeks); people stopped in Mexico are counted by its events. Both count events, not
persons, and the rule reads the outcome series the model is later compared with: it is
circular inside the data, which is what the backtest measures (``docs/backtest.md``).
``Other`` is the residual: the total minus Mexican nationals (US side) and minus every other
nationality the scenario simulates. A month whose data end on or after the cut-off takes the
mean of the last three derived months before it (a persistence forecast of the inflow); a
month before the data begin takes the mean of the first three.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from corridor.errors import ScenarioError
from corridor.observations.reader import HELD_OUT_FROM, load_observed
from corridor.observations.resolve import _nationality_label

if TYPE_CHECKING:
    from corridor.scenario.schema import Scenario

#: The nationality label that stands for everyone the scenario does not list.
RESIDUAL = "Other"
#: Derived months averaged to fill a month with no data (before the data or past the cut-off).
FILL_MONTHS = 3
#: Series read by ``us_encounters_next_month``: (series, geography, labels left out of the residual).
_US = ("usbp_sw_encounters", "US Southwest land border", ("Mexico",))
_MX = ("mx_irregular_events", "Mexico", ())


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
    rows = observed[(observed["series"] == series) & (observed["geography"] == geography)]
    start, end = pd.to_datetime(rows["period_start"]), pd.to_datetime(rows["period_end"])
    whole_month = (start.dt.day == 1) & (end == start + pd.offsets.MonthEnd(0))
    rows = rows[whole_month & (end < cutoff)]
    frame = pd.DataFrame(
        {
            "month": start[rows.index].dt.to_period("M"),
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


def _fill(known: pd.Series, months: pd.PeriodIndex) -> tuple[pd.Series, pd.Series]:
    """Values for ``months``: derived where known, else the mean of the last (or first) three."""
    known = known.dropna().sort_index()
    lookup = dict(zip(known.index, known.to_numpy(dtype=float), strict=True))
    values, basis = [], []
    for month in months:
        if month in lookup:
            values.append(float(lookup[month]))
            basis.append("data")
            continue
        before = known[known.index < month]
        pool, why = (
            (before.iloc[-FILL_MONTHS:], "mean of the last")
            if len(before)
            else (
                known.iloc[:FILL_MONTHS],
                "mean of the first",
            )
        )
        values.append(float(pool.mean()))
        basis.append(f"{why} {len(pool)} derived months")
    return pd.Series(values, index=months), pd.Series(basis, index=months)


def derive_inflows(scenario: Scenario, observed: pd.DataFrame | None = None) -> pd.DataFrame:
    """The monthly persons of every derived inflow of ``scenario``, over its horizon.

    Parameters
    ----------
    scenario : Scenario
    observed : DataFrame, optional
        Observations as :func:`corridor.observations.reader.load_observed` returns them
        (default: the shipped data). Rows whose period ends on or after the scenario's
        :func:`inputs_cutoff` are never read.

    Returns
    -------
    DataFrame
        Columns ``month`` (YYYY-MM), ``nationality``, ``persons``, ``basis`` (``data``, or how
        a month without data was filled).

    Raises
    ------
    ScenarioError
        A derived inflow's nationality has no observed data before the cut-off.
    """
    columns = ["month", "nationality", "persons", "basis"]
    if all(inflow.derived is None for inflow in scenario.inflows):
        return pd.DataFrame(columns=columns)  # nothing to read
    cutoff = inputs_cutoff(scenario)
    data = _shipped_observations() if observed is None else observed
    months = pd.period_range(scenario.horizon.start, scenario.horizon.end, freq="M")
    tables = {name: monthly_counts(data, name, geo, cutoff) for name, geo, _ in (_US, _MX)}
    listed = scenario.nationalities
    frames = []
    seen: set[str] = set()
    for i, inflow in enumerate(scenario.inflows):
        if inflow.derived is None:
            continue
        if inflow.nationality in seen:  # each would get the whole flow
            raise ScenarioError(
                [(f"inflows.{i}.derived", None, f"{inflow.nationality!r} is derived twice; derive it once")]
            )
        seen.add(inflow.nationality)
        others = [n for n in listed if n != inflow.nationality]
        us = _nationality_counts(tables[_US[0]], inflow.nationality, others, _US[2])
        mx = _nationality_counts(tables[_MX[0]], inflow.nationality, others, _MX[2])
        us_next = us.copy()
        us_next.index = us_next.index - 1  # encounters of m+1 stand for entries of m
        known = (us_next + mx.reindex(us_next.index.union(mx.index))).dropna()
        if known.empty:
            raise ScenarioError(
                [
                    (
                        f"inflows.{i}.derived",
                        None,
                        f"no US encounters and Mexican events of {inflow.nationality!r} end before the "
                        f"inputs cut-off {cutoff:%Y-%m-%d} (expected a nationality of the observed data)",
                    )
                ]
            )
        persons, basis = _fill(known, months)
        frames.append(
            pd.DataFrame(
                {
                    "month": months.strftime("%Y-%m"),
                    "nationality": inflow.nationality,
                    "persons": persons.to_numpy(),
                    "basis": basis.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


__all__ = ["derive_inflows", "inputs_cutoff", "monthly_counts"]
