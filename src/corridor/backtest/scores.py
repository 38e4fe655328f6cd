"""Scores of forecasts against what happened, row by row, and their summary per method and horizon.

Each forecast row has an observed value, a median, a 90% interval (``q05``, ``q95``) and sample
draws. :func:`score_forecasts` adds, per row:

``abs_log_error``
    ``|log1p(median) - log1p(observed)|``. On the log scale an error is a ratio, comparable
    across series of different sizes; ``log1p`` rather than ``log`` because observed and
    forecast counts can be zero.
``inside``
    ``q05 <= observed <= q95``.
``crps``, ``crps_log``
    The continuous ranked probability score of the draws' empirical distribution
    (``scoringrules.crps_ensemble``, energy form ``mean|X - y| - mean|X - X'| / 2``), on the
    count scale and on the ``log1p`` scale (draws and observation both transformed), the
    latter comparable across series. For draws that are all equal to ``x`` it is
    ``|x - observed|``. It is the CRPS of the ensemble as given, not the "fair" estimate for
    the distribution it was drawn from, which differs by ``mean|X - X'| / (2m)`` for ``m``
    draws: compare methods with the same number of draws (the baselines give
    :data:`~corridor.backtest.baselines.N_DRAWS`).

A row whose observed value is missing gets missing scores; :func:`summarise_scores` leaves it
out and counts it (``n_missing``).

:func:`summarise_scores` gives, per group (method and horizon by default): ``n``,
``n_missing``, ``median_abs_log_error``, ``mean_abs_log_error``, ``coverage`` (the share of
rows inside), ``mean_crps``, ``mean_crps_log`` and ``skill``, the skill against the reference
method (persistence): ``1 - median(|log error| of the method) / median(|log error| of the
reference)`` over the same rows: those whose keys (:data:`ROW_KEYS` present: series,
geography, breakdown, origin, horizon) the reference also forecast and scored (``n_skill`` of
them). Skill is 0 for the reference itself and 1 for a perfect method; it is NaN when the
reference's median error is 0 or no row is shared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.errors import BacktestError

__all__ = ["ROW_KEYS", "SCORE_COLUMNS", "SUMMARY_COLUMNS", "score_forecasts", "summarise_scores"]

#: Columns :func:`score_forecasts` adds.
SCORE_COLUMNS: tuple[str, ...] = ("abs_log_error", "inside", "crps", "crps_log")
#: Columns of a summary after its group columns.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "n",
    "n_missing",
    "median_abs_log_error",
    "mean_abs_log_error",
    "coverage",
    "mean_crps",
    "mean_crps_log",
    "skill",
    "n_skill",
)
#: Columns that identify a forecast row across methods (those present are used).
ROW_KEYS: tuple[str, ...] = ("series", "geography", "breakdown", "origin", "horizon")
_NEEDED = ("observed", "median", "q05", "q95")
_CRPS_CHUNK_ROWS = 256  # about 80 MB of differences for 200 draws


def score_forecasts(table: pd.DataFrame, draws: npt.ArrayLike) -> pd.DataFrame:
    """Score each forecast row against its observed value.

    Parameters
    ----------
    table : DataFrame
        One row per forecast, with columns ``observed`` (NaN when missing), ``median``,
        ``q05`` and ``q95`` (non-negative counts), and any others (kept).
    draws : array_like, shape (len(table), m)
        The forecast's draws, row ``i`` for row ``i`` of ``table`` (non-negative counts).

    Returns
    -------
    DataFrame
        ``table`` with :data:`SCORE_COLUMNS` added (``inside`` is a nullable boolean), all
        missing where ``observed`` is.

    Raises
    ------
    BacktestError
        A column is missing, the draws do not have one row per forecast, or a value is
        negative or not finite.
    """
    missing_columns = [c for c in _NEEDED if c not in table.columns]
    if missing_columns:
        raise BacktestError(f"forecast rows lack the columns {', '.join(missing_columns)}")
    ensemble = np.asarray(draws, dtype=np.float64)
    if ensemble.ndim != 2 or ensemble.shape[0] != len(table) or ensemble.shape[1] == 0:
        raise BacktestError(f"draws of shape {ensemble.shape} for {len(table)} forecast rows")
    observed = table["observed"].to_numpy(dtype=np.float64, na_value=np.nan)
    median, q05, q95 = (table[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in _NEEDED[1:])
    known = ~np.isnan(observed)
    _check_counts(observed[known], median, q05, q95, ensemble)

    scored = table.copy()
    scored["abs_log_error"] = np.where(known, np.abs(np.log1p(median) - np.log1p(observed)), np.nan)
    inside = pd.array((q05 <= observed) & (observed <= q95), dtype="boolean")
    inside[~known] = pd.NA
    scored["inside"] = inside
    scored["crps"] = _crps(observed, ensemble, known)
    scored["crps_log"] = _crps(np.log1p(observed), np.log1p(ensemble), known)
    return scored


def summarise_scores(
    scores: pd.DataFrame,
    by: Sequence[str] = ("method", "horizon"),
    reference: str = "persistence",
    row_keys: Sequence[str] = ROW_KEYS,
) -> pd.DataFrame:
    """Summarise scored rows per group, with the skill against a reference method.

    Parameters
    ----------
    scores : DataFrame
        Rows from :func:`score_forecasts`, with a ``method`` column.
    by : sequence of str
        The group columns; add ``"series"`` for a summary per series. Must include ``method``.
    reference : str
        The method skill is measured against.
    row_keys : sequence of str
        The columns that identify a row across methods; those present in ``scores``, and the
        group columns other than ``method``, are used.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, then :data:`SUMMARY_COLUMNS` (see the module
        docstring).

    Raises
    ------
    BacktestError
        A column is missing, or the reference has two rows with the same keys.
    """
    absent = [c for c in (*by, *SCORE_COLUMNS, "method") if c not in scores.columns]
    if absent or "method" not in by:
        raise BacktestError(f"cannot summarise scores: missing columns {absent} or 'method' not in {by}")
    keys = [k for k in dict.fromkeys([*by, *row_keys]) if k != "method" and k in scores.columns]
    with_reference = _attach_reference(scores, reference, keys)
    groups = with_reference.groupby(list(by), sort=True, dropna=False, observed=True)
    rows = [(*name, *_summary(group)) for name, group in groups]
    return pd.DataFrame(rows, columns=[*by, *SUMMARY_COLUMNS])


def _check_counts(*arrays: npt.NDArray[np.float64]) -> None:
    for values in arrays:
        if not np.isfinite(values).all() or (values < 0).any():
            raise BacktestError("observed values, forecasts and draws must be non-negative finite counts")


def _crps(
    observed: npt.NDArray[np.float64], ensemble: npt.NDArray[np.float64], known: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    import scoringrules

    rows = np.flatnonzero(known)
    out = np.full(observed.size, np.nan)
    # "nrg" is the exact CRPS of the ensemble, so named in every scoringrules >= 0.7 (whose
    # default estimator and argument names changed); "pwm" and "fair" are the fair one. It
    # holds rows x m x m differences at once, so rows go in chunks.
    for chunk in np.array_split(rows, max(1, rows.size // _CRPS_CHUNK_ROWS)):
        if chunk.size:
            crps = scoringrules.crps_ensemble(observed[chunk], ensemble[chunk], estimator="nrg")
            out[chunk] = np.asarray(crps)
    return out


def _attach_reference(scores: pd.DataFrame, reference: str, keys: list[str]) -> pd.DataFrame:
    """``scores`` with ``_reference``: the reference method's |log error| on the same row."""
    rows = (scores["method"] == reference) & scores["abs_log_error"].notna()
    mine = scores.loc[rows, [*keys, "abs_log_error"]]
    if mine.duplicated(keys).any():
        raise BacktestError(
            f"the reference {reference!r} has several rows with the same {', '.join(keys)}: "
            "add the column that tells them apart to row_keys"
        )
    return scores.merge(mine.rename(columns={"abs_log_error": "_reference"}), on=keys, how="left")


def _summary(group: pd.DataFrame) -> tuple[float | int, ...]:
    known = group[group["abs_log_error"].notna()]
    errors = known["abs_log_error"].to_numpy(dtype=np.float64)
    shared = known[known["_reference"].notna()]
    reference_median = float(np.median(shared["_reference"])) if len(shared) else np.nan
    skill = (
        1.0 - float(np.median(shared["abs_log_error"])) / reference_median
        if len(shared) and reference_median > 0
        else np.nan
    )
    empty = not len(known)
    return (
        len(known),
        len(group) - len(known),
        np.nan if empty else float(np.median(errors)),
        np.nan if empty else float(errors.mean()),
        np.nan if empty else float(known["inside"].astype(bool).mean()),
        np.nan if empty else float(known["crps"].mean()),
        np.nan if empty else float(known["crps_log"].mean()),
        skill,
        len(shared),
    )
