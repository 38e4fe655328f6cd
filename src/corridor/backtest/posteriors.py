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

import numpy as np
import pandas as pd

from corridor.backtest.pilot import refitted_draws
from corridor.scenario import Scenario

__all__ = ["PILOT_COLUMNS", "fitted_parameters"]

#: The pilots' fitted values in ``scores.parquet``: a number, or a JSON object of one number per
#: nationality (the parameter is then ``column.nationality``).
PILOT_COLUMNS = ("demand_scale_ratios", "interdiction_factors", "application_ratio", "legal_pathway_uptake")
#: The table's columns.
COLUMNS = [
    "origin",
    "parameter",
    "fitted_by",
    "median",
    "q05",
    "q95",
    "n",
    "prior_median",
    "prior_q05",
    "prior_q95",
]


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
        The backtest's prior draws (``prior_sample(priors, draws, seed)`` with its
        ``backtest.json``'s ``draws`` and ``seed``): ``kept_draws`` are positions in it.

    Returns
    -------
    DataFrame
        One row per origin and parameter. ``fitted_by`` is ``"abc"`` for a prior parameter
        (``median``, ``q05``, ``q95``: the 50%, 5% and 95% quantiles of the ``n`` kept draws as
        they ran; ``prior_*``: the same over all the draws), ``"abc+pilot"`` where a pilot then
        replaced or scaled the drawn values (the legal-pathway uptake it fitted; the asylum
        application chance times its ratio), or ``"pilot"`` for a pilot's own value (``median``
        only; ``n`` is 1: the pilots fit a point, not a distribution).
    """
    fitted = scores.loc[scores["method"] == "corridor"].drop_duplicates("origin").sort_values("origin")
    rows: list[dict[str, object]] = []
    parameters = list(prior_draws[0]) if prior_draws else []
    prior = {p: _quantiles([float(d[p]) for d in prior_draws]) for p in parameters}
    for _, row in fitted.iterrows():
        origin = str(row["origin"])
        drawn = [dict(prior_draws[int(i)]) for i in json.loads(str(row["kept_draws"]))]
        ran = refitted_draws(scenario, drawn, row)
        for p in parameters:
            values = [float(d[p]) for d in ran]
            how = "abc" if values == [d[p] for d in drawn] else "abc+pilot"
            rows.append(_row(origin, p, how, _quantiles(values), len(ran), prior[p]))
        for column in PILOT_COLUMNS:
            for p, value in _pilot_values(column, row.get(column)).items():
                rows.append(_row(origin, p, "pilot", (value, np.nan, np.nan), 1, (np.nan,) * 3))
    return pd.DataFrame(rows, columns=COLUMNS)


def _quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    median, q05, q95 = np.quantile(np.asarray(values, dtype=float), [0.5, 0.05, 0.95])
    return float(median), float(q05), float(q95)


def _row(
    origin: str,
    parameter: str,
    fitted_by: str,
    kept: tuple[float, float, float],
    n: int,
    prior: tuple[float, float, float],
) -> dict[str, object]:
    return dict(zip(COLUMNS, (origin, parameter, fitted_by, *kept, n, *prior), strict=True))


def _pilot_values(column: str, value: object) -> dict[str, float]:
    """A pilot column's values by parameter name; none where the pilot did not run (empty, NaN)."""
    if isinstance(value, str):
        return {f"{column}.{k}": float(v) for k, v in json.loads(value or "{}").items()}
    if isinstance(value, (int, float)) and not np.isnan(value):
        return {column: float(value)}
    return {}
