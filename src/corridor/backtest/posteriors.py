"""What a backtest's fit says about the parameters, origin by origin.

At each origin a backtest keeps the ``keep`` of its ``draws`` prior draws closest to the months
before it (ABC rejection: the same draws at every origin), and its pilots fit a few values
outright (each nationality's demand scale and interdiction factor, the asylum application
ratio, the legal pathways' uptake). :func:`fitted_parameters` lays both out as one tidy table,
beside the prior, so that a reader sees which parameters the data inform (a kept band narrower
than the prior's, or moving between origins) and which they do not (the kept band is the
prior's). ``corridor backtest`` writes it as ``parameters.csv``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from corridor.backtest.pilot import refitted_draws
from corridor.errors import BacktestError
from corridor.report.figures import bounds, interval_label
from corridor.scenario import Scenario

__all__ = ["PILOT_COLUMNS", "fitted_parameters", "kept_draws", "origin_fit"]

#: The pilots' fitted values in ``scores.parquet``: a number, or a JSON object of one number per
#: nationality (the parameter is then ``column.nationality``). A value of exactly 1 is the
#: pilots' answer where the fit months hold no count to fit it on (no COMAR count, no event of
#: the nationality): it is the scenario's own value, not a fit, and is left out of the table.
PILOT_COLUMNS = ("demand_scale_ratios", "interdiction_factors", "application_ratio", "legal_pathway_uptake")
#: The table's columns.
COLUMNS = [
    "origin",
    "parameter",
    "fitted_by",
    "median",
    "low",
    "high",
    "interval",
    "prior_median",
    "prior_low",
    "prior_high",
    "prior_interval",
]


def origin_fit(scores: pd.DataFrame, origin: str) -> pd.Series:
    """The row of ``scores`` that carries one origin's fit (its first ``corridor`` row)."""
    rows = scores.loc[(scores["method"] == "corridor") & (scores["origin"] == origin)]
    if rows.empty:
        raise BacktestError(f"the backtest has no origin {origin}")
    return rows.iloc[0]


def kept_draws(
    fitted: pd.Series | Mapping[str, Any],
    scenario: Scenario,
    prior_draws: Sequence[Mapping[str, float]],
    limit: int | None = None,
) -> tuple[list[int], list[dict[str, Any]]]:
    """The draws one origin kept, as the backtest ran them.

    Parameters
    ----------
    fitted : Series or mapping
        The origin's fit (:func:`origin_fit`): ``kept_draws`` and the pilots' values.
    scenario : Scenario
        The backtest's scenario.
    prior_draws : sequence of mapping
        The backtest's prior draws (``prior_sample(priors, draws, seed)`` with its
        ``backtest.json``'s ``draws`` and ``seed``): ``kept_draws`` are positions in it.
    limit : int, optional
        At most this many (the first kept).

    Returns
    -------
    positions, draws
        The kept draws' positions in ``prior_draws``, and their overrides with what the pilots
        fitted applied (:func:`~corridor.backtest.pilot.refitted_draws`).
    """
    positions = [int(i) for i in json.loads(str(fitted["kept_draws"]))][:limit]
    return positions, refitted_draws(scenario, [dict(prior_draws[i]) for i in positions], fitted)


def fitted_parameters(
    scores: pd.DataFrame, scenario: Scenario, prior_draws: Sequence[Mapping[str, float]]
) -> pd.DataFrame:
    """Per origin and parameter, the value the backtest's fit gave it.

    Parameters
    ----------
    scores : DataFrame
        A backtest's ``scores.parquet``: the rows of method ``corridor`` carry each origin's
        ``kept_draws`` and the pilots' values (:data:`PILOT_COLUMNS`).
    scenario : Scenario
        The backtest's scenario (its pilots' values apply to it).
    prior_draws : sequence of mapping
        The backtest's prior draws, as for :func:`kept_draws`.

    Returns
    -------
    DataFrame
        One row per origin and parameter. ``fitted_by`` is ``"abc"`` for a prior parameter
        (``median`` of the kept draws as they ran, and ``low`` to ``high``, the interval that
        ``interval`` names: 5-95%, or the range of the draws when fewer than 20 are kept;
        ``prior_*``: the same over all the draws), ``"abc+pilot"`` where a pilot then replaced
        or scaled the drawn values (the legal-pathway uptake it fitted; the asylum application
        chance times its ratio), or ``"pilot"`` for a pilot's own value (``median`` only: the
        pilots fit a point, not a distribution).
    """
    fitted = scores.loc[scores["method"] == "corridor"].drop_duplicates("origin").sort_values("origin")
    parameters = list(prior_draws[0]) if prior_draws else []
    prior = {p: _interval([float(d[p]) for d in prior_draws]) for p in parameters}
    rows: list[dict[str, object]] = []
    for _, row in fitted.iterrows():
        origin = str(row["origin"])
        positions, ran = kept_draws(row, scenario, prior_draws)
        for p in parameters:
            values = [float(d[p]) for d in ran]
            how = "abc" if values == [float(prior_draws[i][p]) for i in positions] else "abc+pilot"
            rows.append(dict(zip(COLUMNS, (origin, p, how, *_interval(values), *prior[p]), strict=True)))
        for column in PILOT_COLUMNS:
            for p, value in _pilot_values(column, row.get(column)).items():
                point = (value, np.nan, np.nan, "", np.nan, np.nan, np.nan, "")
                rows.append(dict(zip(COLUMNS, (origin, p, "pilot", *point), strict=True)))
    return pd.DataFrame(rows, columns=COLUMNS)


def _interval(values: Sequence[float]) -> tuple[float, float, float, str]:
    """Median, low, high and what the interval is, by the rule of every page (``bounds``)."""
    arr = np.asarray(values, dtype=float)
    low, high = bounds(arr)
    return float(np.median(arr)), float(low), float(high), interval_label(arr.size, "draw")


def _pilot_values(column: str, value: object) -> dict[str, float]:
    """A pilot column's fitted values by parameter name: none where the pilot did not run
    (empty, null, NaN) or found nothing to fit (exactly 1: :data:`PILOT_COLUMNS`)."""
    if isinstance(value, str):
        found = json.loads(value or "{}") or {}
        values = {f"{column}.{k}": float(v) for k, v in found.items()}
    elif isinstance(value, (int, float, np.integer, np.floating)):
        values = {column: float(value)}
    else:
        values = {}
    return {k: v for k, v in values.items() if np.isfinite(v) and v != 1.0}
